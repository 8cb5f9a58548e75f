/**
 * The in-memory job state behind the Camunda 8 protocol fakes (REST and
 * gRPC): deployed definitions and jobs, with activation, long polling,
 * timeouts, retries with back-off and incidents as Camunda 8 documents
 * them. It runs no BPMN: a test creates the jobs it needs. This is a fake
 * for the adapter's tests, not a broker.
 */

/** What happened to a job, as the tests read it. */
export type FakeJobState = 'activatable' | 'activated' | 'completed' | 'error-thrown' | 'incident' | 'canceled';

export interface FakeJob {
  key: string;
  type: string;
  processDefinitionKey: string;
  processDefinitionId: string;
  processDefinitionVersion: number;
  processInstanceKey: string;
  elementId: string;
  elementInstanceKey: string;
  tenantId: string;
  customHeaders: Record<string, string>;
  variables: Record<string, unknown>;
  retries: number;
  state: FakeJobState;
  worker: string;
  /** Epoch milliseconds at which the activation ends; 0 while not activated. */
  deadline: number;
  /** Epoch milliseconds before which a failed job is not activatable. */
  activatableAt: number;
  activations: number;
  completedWith: Record<string, unknown> | undefined;
  thrownError: { errorCode: string; errorMessage: string | undefined; variables: Record<string, unknown> | undefined } | undefined;
  failures: { retries: number; errorMessage: string | undefined; retryBackOff: number }[];
  timeoutUpdates: number[];
  incidentMessage: string | undefined;
}

export interface FakeDefinition {
  processDefinitionKey: string;
  processDefinitionId: string;
  version: number;
  xml: string;
  /** XML requests that still get a 404, as right after a deployment. */
  xmlNotFoundCount: number;
  xmlRequests: number;
}

/** A consumer of pushed jobs: a gRPC job stream. */
export interface JobPushTarget {
  type: string;
  worker: string;
  timeout: number;
  /** Sends the job; false when the stream is gone, and the job stays activatable, as the gateway yields it. */
  push(job: FakeJob): boolean;
}

/** Interval of the timeout checker, which returns timed-out jobs to the activatable state. */
const TIMEOUT_CHECK_MS = 100;

/** Keys start above 2^53, so any conversion through a JavaScript number shows up as a wrong key. */
const FIRST_KEY = 9_007_199_254_740_993n;

/** The default tenant of a cluster without multi-tenancy. */
export const DEFAULT_TENANT = '<default>';

export class FakeBroker {
  readonly definitions = new Map<string, FakeDefinition>();
  readonly jobs = new Map<string, FakeJob>();
  readonly #streams = new Set<JobPushTarget>();
  readonly #waiters = new Set<() => void>();
  #nextKey = FIRST_KEY;
  readonly #timeoutChecker = setInterval(() => this.#expireTimeouts(), TIMEOUT_CHECK_MS).unref();

  /** Stops the timeout checker. */
  stop(): void {
    clearInterval(this.#timeoutChecker);
  }

  /** Deploys a process. The XML endpoint responds with 404 to the first `xmlNotFoundCount` requests. */
  deploy(processDefinitionId: string, xml: string, options: { xmlNotFoundCount?: number } = {}): FakeDefinition {
    const version = [...this.definitions.values()].filter((definition) => definition.processDefinitionId === processDefinitionId).length + 1;
    const definition: FakeDefinition = {
      processDefinitionKey: this.#key(),
      processDefinitionId,
      version,
      xml,
      xmlNotFoundCount: options.xmlNotFoundCount ?? 0,
      xmlRequests: 0,
    };
    this.definitions.set(definition.processDefinitionKey, definition);
    return definition;
  }

  /** Creates an activatable job of a deployed definition's element. */
  createJob(definition: FakeDefinition, options: {
    elementId: string;
    type: string;
    variables?: Record<string, unknown>;
    retries?: number;
    customHeaders?: Record<string, string>;
    tenantId?: string;
  }): FakeJob {
    const job: FakeJob = {
      key: this.#key(),
      type: options.type,
      processDefinitionKey: definition.processDefinitionKey,
      processDefinitionId: definition.processDefinitionId,
      processDefinitionVersion: definition.version,
      processInstanceKey: this.#key(),
      elementId: options.elementId,
      elementInstanceKey: this.#key(),
      tenantId: options.tenantId ?? DEFAULT_TENANT,
      customHeaders: options.customHeaders ?? {},
      variables: options.variables ?? {},
      retries: options.retries ?? 3,
      state: 'activatable',
      worker: '',
      deadline: 0,
      activatableAt: 0,
      activations: 0,
      completedWith: undefined,
      thrownError: undefined,
      failures: [],
      timeoutUpdates: [],
      incidentMessage: undefined,
    };
    this.jobs.set(job.key, job);
    this.#offer(job);
    return job;
  }

  /** Activates up to `max` activatable jobs of a type for a worker. */
  activate(type: string, worker: string, timeout: number, max: number, tenantIds: readonly string[] | undefined): FakeJob[] {
    this.#expireTimeouts();
    const now = Date.now();
    const tenants = tenantIds === undefined || tenantIds.length === 0 ? [DEFAULT_TENANT] : tenantIds;
    const activated: FakeJob[] = [];
    for (const job of this.jobs.values()) {
      if (activated.length >= max) {
        break;
      }
      if (job.type === type && job.state === 'activatable' && job.activatableAt <= now && tenants.includes(job.tenantId)) {
        this.#markActivated(job, worker, timeout);
        activated.push(job);
      }
    }
    return activated;
  }

  /** Resolves when a job may have become activatable, or after `timeoutMs`. */
  async waitForJobs(timeoutMs: number, signal: AbortSignal): Promise<void> {
    let wake: () => void = () => {};
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      this.#waiters.add(wake);
      timer = setTimeout(resolve, timeoutMs);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearTimeout(timer);
    this.#waiters.delete(wake);
  }

  /** Registers a job stream; activatable jobs of its type are pushed to it from now on. */
  addStream(target: JobPushTarget): () => void {
    this.#streams.add(target);
    return () => this.#streams.delete(target);
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /** Looks up a job that a command names; undefined when it does not exist. */
  job(key: string): FakeJob | undefined {
    return this.jobs.get(key);
  }

  complete(job: FakeJob, variables: Record<string, unknown> | undefined): void {
    job.state = 'completed';
    job.completedWith = variables ?? {};
  }

  throwError(job: FakeJob, errorCode: string, errorMessage: string | undefined, variables: Record<string, unknown> | undefined): void {
    job.state = 'error-thrown';
    job.thrownError = { errorCode, errorMessage, variables };
  }

  /** Fails a job: with retries left it is activatable again after the back-off; at zero an incident is raised. */
  fail(job: FakeJob, retries: number, errorMessage: string | undefined, retryBackOff: number): void {
    job.failures.push({ retries, errorMessage, retryBackOff });
    job.retries = retries;
    job.worker = '';
    job.deadline = 0;
    if (retries <= 0) {
      job.state = 'incident';
      job.incidentMessage = errorMessage ?? '';
      return;
    }
    job.state = 'activatable';
    job.activatableAt = Date.now() + retryBackOff;
    if (retryBackOff === 0) {
      this.#offer(job);
    } else {
      setTimeout(() => this.#offer(job), retryBackOff).unref();
    }
  }

  /** Sets an activated job's deadline to `timeout` from now. */
  updateTimeout(job: FakeJob, timeout: number): void {
    job.timeoutUpdates.push(timeout);
    job.deadline = Date.now() + timeout;
  }

  /** Returns jobs whose activation timed out to the activatable state, as the engine's timeout checker does. */
  #expireTimeouts(): void {
    const now = Date.now();
    for (const job of this.jobs.values()) {
      if (job.state === 'activated' && job.deadline <= now) {
        job.state = 'activatable';
        job.worker = '';
        job.deadline = 0;
        this.#offer(job);
      }
    }
  }

  /** Pushes a newly activatable job to a stream of its type, or wakes the long polls. */
  #offer(job: FakeJob): void {
    if (job.state !== 'activatable' || job.activatableAt > Date.now()) {
      return;
    }
    for (const stream of this.#streams) {
      if (stream.type !== job.type) {
        continue;
      }
      this.#markActivated(job, stream.worker, stream.timeout);
      if (stream.push(job)) {
        return;
      }
      job.state = 'activatable';
      job.worker = '';
      job.deadline = 0;
    }
    for (const wake of this.#waiters) {
      wake();
    }
  }

  #markActivated(job: FakeJob, worker: string, timeout: number): void {
    job.state = 'activated';
    job.worker = worker;
    job.deadline = Date.now() + timeout;
    job.activations += 1;
  }

  #key(): string {
    const key = this.#nextKey;
    this.#nextKey += 1n;
    return key.toString();
  }
}
