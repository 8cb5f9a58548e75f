import type { EngineOptions } from '../../config/types.ts';
import { EngineRequestError } from '../../errors.ts';
import { parseJson } from '../../lossless-json.ts';
import { silentLogger, type Logger } from '../../telemetry/logger.ts';
import { isRejectedTaskCall, type EngineAdapter, type EngineCallObserver } from '../adapter.ts';
import type { FailureReport, FetchRequest, FetchedTask, Task, TaskLock, Variables } from '../types.ts';
import { fromActivatedJob, type ActivatedJobJson } from './job.ts';
import { JobStreams, type BufferedJob } from './job-streams.ts';
import { Camunda8RestCaller } from './rest.ts';
import { createCamunda8Clients, type Camunda8Clients } from './sdk.ts';

/**
 * Maximum long poll when one fetch covers several job types. REST activation
 * takes one type per request, so the types are polled side by side. Jobs of
 * one type wait until every poll has returned.
 */
const MULTI_TYPE_LONG_POLL_MS = 1_000;

/** REST activation's `requestTimeout` that makes the engine respond at once, without long polling. */
const NO_LONG_POLL = -1;

/** Share of its lock duration after which a streamed job's lock is renewed before it is handed out. */
const STREAMED_LOCK_REFRESH_SHARE = 0.1;

/**
 * Pause between closing the job streams and giving back their buffered jobs,
 * so the gateway has seen the cancellation first. Otherwise it may push a
 * job that becomes activatable straight back onto the closing stream.
 */
const STREAM_CLOSE_GRACE_MS = 200;

/** Job states of `POST /v2/jobs/search` in which the job can no longer be completed. */
const ENDED_JOB_STATES: ReadonlySet<string> = new Set(['COMPLETED', 'CANCELED', 'ERROR_THROWN', 'MIGRATED']);

export interface Camunda8AdapterOptions {
  observe?: EngineCallObserver;
  logger?: Logger;
  /** SDK clients to use instead of ones built from the options; the adapter closes them either way. */
  clients?: Camunda8Clients;
}

/**
 * Camunda 8 adapter: job workers over the Orchestration Cluster REST API
 * (v2) through @camunda8/sdk, and gRPC job streaming when
 * `engine.streaming` is set. Fetch-and-lock is job activation, and the lock
 * is the job's timeout, extended by updating the timeout. A failure reports
 * the retries left with a retry back-off. Unlocking fails the job with its
 * retries unchanged and no back-off, so it is activatable again at once.
 * Every call rejects with {@link EngineRequestError}.
 */
export class Camunda8Adapter implements EngineAdapter {
  readonly #engine: EngineOptions;
  readonly #clients: Camunda8Clients;
  readonly #rest: Camunda8RestCaller;
  readonly #streams: JobStreams | undefined;
  readonly #logger: Logger;
  readonly #lateJobs = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;
  #fetchingStopped: Promise<void> | undefined;

  constructor(engine: EngineOptions, options: Camunda8AdapterOptions = {}) {
    this.#engine = engine;
    this.#logger = options.logger ?? silentLogger();
    this.#clients = options.clients ?? createCamunda8Clients(engine, this.#logger);
    this.#rest = new Camunda8RestCaller(this.#clients.rest, engine.baseUrl, options.observe);
    if (engine.streaming !== undefined) {
      this.#streams = new JobStreams({
        grpc: this.#clients.grpc,
        workerId: engine.workerId,
        tenantIds: engine.tenantIds,
        bufferSize: engine.maxTasks,
        logger: this.#logger,
        onLateJob: (fetched) => this.#giveBackLate(fetched.task),
      });
    }
  }

  /**
   * Activates up to `request.maxTasks` jobs of the requested types. With
   * streaming, buffered jobs are handed out first. With none buffered, one
   * REST activation per type returns at once, and the fetch then waits for a
   * streamed job up to the long-polling timeout.
   */
  async fetchAndLock(request: FetchRequest): Promise<FetchedTask[]> {
    if (this.#streams === undefined) {
      return this.#activate(request);
    }

    this.#streams.ensureOpen(request.topics);
    const types = request.topics.map((topic) => topic.topic);
    const buffered = await this.#handOut(this.#streams.take(types, request.maxTasks));
    if (buffered.length > 0) {
      return buffered;
    }
    const activated = await this.#activateOnce(request.topics, request.maxTasks, NO_LONG_POLL, 0);
    if (activated.length > 0 || request.longPollMs === 0) {
      return activated;
    }
    await this.#streams.waitForJobs(types, request.longPollMs);
    return this.#handOut(this.#streams.take(types, request.maxTasks));
  }

  /** `POST /v2/jobs/{key}/completion` with the variables. */
  async complete(task: Task, variables: Variables): Promise<void> {
    await this.#jobCall('complete', task, 'POST', 'completion', { variables });
  }

  /** `POST /v2/jobs/{key}/error`: throws the BPMN error, with variables set on the error's catch event scope. */
  async bpmnError(task: Task, errorCode: string, message: string | undefined, variables: Variables): Promise<void> {
    await this.#jobCall('bpmnError', task, 'POST', 'error', { errorCode, errorMessage: message, variables });
  }

  /** `POST /v2/jobs/{key}/failure`; at zero retries the engine raises an incident with the message. */
  async fail(task: Task, report: FailureReport): Promise<void> {
    await this.#jobCall('failure', task, 'POST', 'failure', {
      retries: report.retries,
      errorMessage: report.message,
      retryBackOff: report.retryTimeoutMs,
    });
  }

  /** `PATCH /v2/jobs/{key}`: sets the job's timeout to `durationMs` from now. */
  async extendLock(task: Task, durationMs: number): Promise<void> {
    await this.#jobCall('extendLock', task, 'PATCH', '', { changeset: { timeout: durationMs } });
  }

  /** Fails the job with its retries unchanged and no back-off, so the engine hands it out again at once. */
  async unlock(task: Task): Promise<void> {
    await this.#jobCall('unlock', task, 'POST', 'failure', {
      retries: Math.max(1, task.retries ?? 1),
      errorMessage: `returned without an outcome by worker ${this.#engine.workerId}`,
      retryBackOff: 0,
    });
  }

  /**
   * Reads a job through `POST /v2/jobs/search`. Undefined when the job does
   * not exist or has ended (completed, canceled, BPMN error thrown).
   *
   * NOTE: the search reads Camunda's secondary storage, which lags the
   * engine by up to a few seconds, so a job that ended just now may still
   * look active.
   */
  async lockOf(taskId: string): Promise<TaskLock | undefined> {
    const text = await this.#rest.send({
      name: 'lockOf',
      method: 'POST',
      path: 'jobs/search',
      body: { filter: { jobKey: taskId }, page: { limit: 1 } },
      timeoutMs: this.#engine.requestTimeoutMs,
    });
    const [job] = (parseBody(text, 'POST /v2/jobs/search') as { items?: { state?: string; worker?: string; deadline?: string }[] }).items ?? [];
    if (job === undefined || ENDED_JOB_STATES.has(job.state ?? '')) {
      return undefined;
    }
    const expiresAt = job.deadline === undefined ? Number.NaN : Date.parse(job.deadline);
    return { workerId: job.worker || undefined, expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt };
  }

  /** Closes the job streams and gives back the jobs they buffered; safe to call twice. */
  stopFetching(): Promise<void> {
    this.#fetchingStopped ??= this.#stopStreams();
    return this.#fetchingStopped;
  }

  /** Stops streaming, cancels outstanding requests and closes the SDK clients. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.stopFetching();
      await Promise.allSettled([...this.#lateJobs]);
      this.#rest.cancelAll();
      await this.#clients.close();
    })();
    return this.#closing;
  }

  async #activate(request: FetchRequest): Promise<FetchedTask[]> {
    const { topics, maxTasks } = request;
    const longPollMs = request.longPollMs === 0 ? NO_LONG_POLL : request.longPollMs;
    if (topics.length <= 1 || longPollMs === NO_LONG_POLL) {
      return this.#activateOnce(topics, maxTasks, longPollMs, Math.max(0, longPollMs));
    }

    const immediate = await this.#activateOnce(topics, maxTasks, NO_LONG_POLL, 0);
    if (immediate.length > 0) {
      return immediate;
    }
    const shortPollMs = Math.min(longPollMs, MULTI_TYPE_LONG_POLL_MS);
    return this.#activateOnce(topics, maxTasks, shortPollMs, shortPollMs);
  }

  /**
   * Sends one activation per type, side by side, sharing `maxTasks` between
   * them so the total never exceeds it. With fewer slots than types, the
   * types that get none are left for the next fetch, starting from a type
   * chosen at random so that every type gets its turn.
   */
  async #activateOnce(
    topics: FetchRequest['topics'],
    maxTasks: number,
    requestTimeout: number,
    waitMs: number,
  ): Promise<FetchedTask[]> {
    const offset = Math.floor(Math.random() * topics.length);
    const rotated = [...topics.slice(offset), ...topics.slice(0, offset)];
    const calls = rotated.map((topic, index) => {
      const share = Math.floor(maxTasks / rotated.length) + (index < maxTasks % rotated.length ? 1 : 0);
      return share === 0 ? Promise.resolve([]) : this.#activateType(topic, share, requestTimeout, waitMs);
    });
    return (await Promise.all(calls)).flat();
  }

  async #activateType(
    topic: FetchRequest['topics'][number],
    maxJobs: number,
    requestTimeout: number,
    waitMs: number,
  ): Promise<FetchedTask[]> {
    const text = await this.#rest.send({
      name: 'fetchAndLock',
      method: 'POST',
      path: 'jobs/activation',
      body: {
        type: topic.topic,
        worker: this.#engine.workerId,
        timeout: topic.lockDurationMs,
        maxJobsToActivate: maxJobs,
        requestTimeout,
        tenantIds: this.#engine.tenantIds === undefined ? undefined : [...this.#engine.tenantIds],
      },
      timeoutMs: waitMs + this.#engine.requestTimeoutMs,
    });
    const jobs = (parseBody(text, 'POST /v2/jobs/activation') as { jobs?: ActivatedJobJson[] }).jobs;
    if (!Array.isArray(jobs)) {
      throw new EngineRequestError(`POST ${this.#engine.baseUrl}/v2/jobs/activation returned no jobs array: ${text.slice(0, 200)}`);
    }
    return jobs.map(fromActivatedJob);
  }

  /**
   * Hands out buffered jobs. A job that waited in the buffer for more than a
   * tenth of its lock has its lock renewed first, so the daemon plans with a
   * full lock. A job whose renewal the engine rejects has ended and is dropped.
   */
  async #handOut(jobs: readonly BufferedJob[]): Promise<FetchedTask[]> {
    const now = Date.now();
    const handedOut = await Promise.all(jobs.map(async (job) => {
      if (now - job.receivedAt <= job.lockDurationMs * STREAMED_LOCK_REFRESH_SHARE) {
        return job.fetched;
      }
      try {
        await this.extendLock(job.fetched.task, job.lockDurationMs);
        job.fetched.task.lockExpiresAt = Date.now() + job.lockDurationMs;
        return job.fetched;
      } catch (error) {
        if (isRejectedTaskCall(error)) {
          this.#logger.info({ taskId: job.fetched.task.id, topic: job.fetched.task.topic }, 'streamed job ended before it was handed out; dropped');
          return undefined;
        }
        return job.fetched;
      }
    }));
    return handedOut.filter((fetched) => fetched !== undefined);
  }

  async #stopStreams(): Promise<void> {
    const remaining = this.#streams?.stop() ?? [];
    if (remaining.length === 0) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, STREAM_CLOSE_GRACE_MS));
    this.#logger.info({ jobs: remaining.length }, 'giving back streamed jobs not handed out');
    await Promise.allSettled(remaining.map((job) => this.#giveBack(job.fetched.task)));
  }

  #giveBackLate(task: Task): void {
    const giveBack = this.#giveBack(task).finally(() => this.#lateJobs.delete(giveBack));
    this.#lateJobs.add(giveBack);
  }

  async #giveBack(task: Task): Promise<void> {
    try {
      await this.unlock(task);
    } catch (error) {
      this.#logger.warn({ err: error, taskId: task.id }, 'giving back a streamed job failed; the engine hands it out again when its timeout ends');
    }
  }

  #jobCall(name: string, task: Task, method: 'POST' | 'PATCH', action: string, body: Record<string, unknown>): Promise<string> {
    const key = encodeURIComponent(task.id);
    return this.#rest.send({
      name,
      method,
      path: action === '' ? `jobs/${key}` : `jobs/${key}/${action}`,
      body,
      timeoutMs: this.#engine.requestTimeoutMs,
    });
  }
}

function parseBody(text: string, call: string): unknown {
  try {
    return parseJson(text);
  } catch {
    throw new EngineRequestError(`${call} returned a body that is not JSON: ${text.slice(0, 200)}`);
  }
}
