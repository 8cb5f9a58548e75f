/**
 * Engine-neutral terms: a task handed out by an engine and the outcome the
 * daemon reports for it. Engine words (external task, job, topic, job type)
 * stay inside the adapters.
 */

/**
 * Variables as plain JSON-compatible values, keyed by name. An integer
 * beyond 2^53 from Camunda 8 or from a service's response is a bigint.
 */
export type Variables = Record<string, unknown>;

/**
 * One locked unit of work from an engine. Camunda 8's int64 keys are decimal
 * strings here.
 */
export interface Task {
  /** Camunda 7 external task id or Camunda 8 job key. */
  id: string;
  /** Camunda 7 topic or Camunda 8 job type. */
  topic: string;
  activityId: string;
  activityInstanceId: string | undefined;
  processInstanceId: string;
  /**
   * Id of the deployed definition version, by which its XML is fetched and
   * cached: Camunda 7's process definition id, Camunda 8's process
   * definition key.
   */
  processDefinitionId: string;
  /** BPMN process id: Camunda 7's process definition key, Camunda 8's process definition id. */
  processDefinitionKey: string | undefined;
  businessKey: string | undefined;
  tenantId: string | undefined;
  /** Retries left as the engine reports them; null until a first failure set them. */
  retries: number | null;
  priority: number;
  workerId: string;
  /** When the lock expires, as epoch milliseconds, when known. */
  lockExpiresAt: number | undefined;
  /**
   * The activity's extension properties as the engine sent them with the
   * task (Camunda 7 with `engine.includeExtensionProperties`); routing then
   * reads no definition XML. Undefined when the engine sent none.
   */
  activityProperties?: Readonly<Record<string, string>>;
}

/**
 * What happened to a task, decided by a service or handler. `deferred` means
 * the task was not dispatched (its service's circuit breaker is open, or
 * dispatch is shutting down): it goes back to the engine unchanged, with no
 * retry used up.
 */
export type TaskOutcome =
  | { kind: 'complete'; variables: Variables }
  | { kind: 'bpmnError'; errorCode: string; message: string | undefined; variables: Variables }
  | {
    kind: 'failure';
    message: string;
    details: string | undefined;
    /** True for a connection error, a timeout, or HTTP 429, 502, 503 or 504: a retry may succeed. */
    transient?: boolean;
  }
  | { kind: 'deferred'; reason: string };

/**
 * One topic of a fetch-and-lock request, with the filters and the variable
 * selection of its configuration entry. Camunda 7 keeps one instruction per
 * topic name, so the daemon puts each name into a request once.
 */
export interface FetchTopic {
  topic: string;
  lockDurationMs: number;
  /** Variables to fetch; undefined fetches all. */
  variables?: readonly string[];
  /** Fetch only the variables local to the task's execution. */
  localVariables?: boolean;
  tenantIds?: readonly string[];
  /** Fetch only tasks that belong to no tenant. */
  withoutTenantId?: boolean;
  processDefinitionKeys?: readonly string[];
  processDefinitionVersionTag?: string;
  businessKey?: string;
}

/** A fetch-and-lock request: which topics, and at most how many tasks in all. */
export interface FetchRequest {
  topics: readonly FetchTopic[];
  maxTasks: number;
  /** Long polling: how long the engine may keep the request open while it waits for tasks; 0 returns at once. */
  longPollMs: number;
}

/** A task as fetch-and-lock returns it, with its variables. */
export interface FetchedTask {
  task: Task;
  variables: Variables;
  /**
   * Set when the adapter could not read the task's variables (a `Json`
   * variable that is not JSON, a `File` whose content cannot be loaded). The
   * daemon then reports this message as the task's failure without
   * dispatching it, since the engine holds the task locked already.
   */
  variablesError?: string;
}

/** Who holds a task's lock, as the engine reports it now. */
export interface TaskLock {
  workerId: string | undefined;
  /** Epoch milliseconds; undefined when the task is not locked. */
  expiresAt: number | undefined;
}

/** A failure report with the retry decision already made. */
export interface FailureReport {
  message: string;
  details: string | undefined;
  retries: number;
  retryTimeoutMs: number;
}

/** The latest deployed version of a process definition, as the engine lists it. */
export interface DefinitionVersion {
  /** The process id in the BPMN file, which names all versions. */
  processKey: string;
  definitionId: string;
  version: number;
  tenantId: string | undefined;
}
