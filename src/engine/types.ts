/**
 * Engine-neutral terms: a task handed out by an engine and the outcome the
 * daemon reports for it. Engine words (external task, job, topic, job type)
 * stay inside the adapters.
 */

/** Variables as plain JSON-compatible values, keyed by name. */
export type Variables = Record<string, unknown>;

/** One locked unit of work from an engine. */
export interface Task {
  id: string;
  /** Camunda 7 topic or Camunda 8 job type. */
  topic: string;
  activityId: string;
  activityInstanceId: string | undefined;
  processInstanceId: string;
  processDefinitionId: string;
  processDefinitionKey: string | undefined;
  businessKey: string | undefined;
  tenantId: string | undefined;
  /** Retries left as the engine reports them; null until a first failure set them. */
  retries: number | null;
  priority: number;
  workerId: string;
  /** When the lock expires, as epoch milliseconds, when known. */
  lockExpiresAt: number | undefined;
}

/** What happened to a task, decided by a service or handler. */
export type TaskOutcome =
  | { kind: 'complete'; variables: Variables }
  | { kind: 'bpmnError'; errorCode: string; message: string | undefined; variables: Variables }
  | { kind: 'failure'; message: string; details: string | undefined };

/** A failure report with the retry decision already made. */
export interface FailureReport {
  message: string;
  details: string | undefined;
  retries: number;
  retryTimeoutMs: number;
}
