import PQueue from 'p-queue';

import type { RetryOptions, RouterConfig, ServiceOptions } from '../config/types.ts';
import type { Task, TaskOutcome, Variables } from '../engine/types.ts';
import type { HttpRoute, Route } from '../routing/route.ts';
import { context } from '@opentelemetry/api';

import { silentLogger, type Logger } from '../telemetry/logger.ts';
import { SEMCONV, SPAN } from '../telemetry/names.ts';
import type { TaskTracing } from '../telemetry/tracing.ts';
import { Batcher } from './batch.ts';
import { CircuitBreaker, type BreakerSnapshot, type BreakerState } from './breaker.ts';
import { HandlerModules, runHandler } from './handlers.ts';
import { dispatchHttp, selectVariables, taskMetadata } from './http-dispatch.ts';
import { retryDelay } from './retry.ts';
import { ServicePools, type ServiceRequestObserver } from './service-pools.ts';

/** Name of the lane that runs in-process handlers, in queue depths and capacity. */
export const HANDLER_LANE = '(handlers)';

/** Per-dispatch options. */
export interface DispatchRequestOptions {
  /** Epoch milliseconds after which no retry starts; without it only `retry.maxAttempts` bounds the retries. */
  retryDeadline?: number;
}

/** Lifecycle of the dispatcher: `draining` starts no queued task, `closed` has released its connections. */
export type DispatcherState = 'open' | 'draining' | 'closed';

/** Counters of the dispatcher, for `getMetrics()`. */
export interface DispatchStats {
  /** Attempts repeated after a transient error. */
  retries: number;
  batchRequests: number;
  batchedTasks: number;
  breakers: Record<string, BreakerSnapshot>;
}

/** A job waiting in a lane's queue; `cancel` settles its task when it will not start. */
interface WaitingJob {
  cancel(reason: string): void;
}

/** The queue, breaker and batcher of one service, or of the handlers. */
interface Lane {
  name: string;
  queue: PQueue;
  retry: RetryOptions;
  breaker: CircuitBreaker | undefined;
  batcher: Batcher | undefined;
  waiting: Set<WaitingJob>;
  /** Wakes the tasks pausing between retries. */
  sleepers: Set<() => void>;
  /** Message of the service's latest transient failure, logged when its breaker opens. */
  lastFailure: string | undefined;
}

/**
 * Sends routed tasks to their services and runs in-process handlers. Each
 * service has one p-queue (concurrency `maxConcurrent`, ordered by the
 * engine's task priority), one circuit breaker and, with a batch endpoint, a
 * batcher. Transient errors are retried here with backoff. Never rejects for
 * a task: every problem becomes an outcome.
 */
export class Dispatcher {
  readonly #config: RouterConfig;
  readonly #logger: Logger;
  readonly #pools: ServicePools;
  readonly #handlers = new HandlerModules();
  readonly #lanes = new Map<string, Lane>();
  readonly #abort = new AbortController();
  /** Dispatches not yet settled, and the callers of onIdle() waiting for none. */
  #active = 0;
  #idleWaiters: (() => void)[] = [];
  readonly #breakerListeners: ((service: string, state: BreakerState) => void)[] = [];
  readonly #stats = { retries: 0, batchRequests: 0, batchedTasks: 0 };
  #state: DispatcherState = 'open';
  #closing: Promise<void> | undefined;

  readonly #tracing: TaskTracing | undefined;

  /** `telemetry` receives every service request for metrics and puts requests and handlers in spans. */
  constructor(config: RouterConfig, logger: Logger = silentLogger(), telemetry: { tracing?: TaskTracing; onRequest?: ServiceRequestObserver } = {}) {
    this.#config = config;
    this.#logger = logger;
    this.#tracing = telemetry.tracing?.enabled === true ? telemetry.tracing : undefined;
    this.#pools = new ServicePools(config.services, telemetry.onRequest);
  }

  get state(): DispatcherState {
    return this.#state;
  }

  /**
   * Dispatches one task along its route, retrying transient errors. Resolves
   * `deferred` when the task does not start: the service's breaker is open
   * (within its outage budget) or dispatch is stopping.
   */
  dispatch(task: Task, variables: Variables, route: Route, options: DispatchRequestOptions = {}): Promise<TaskOutcome> {
    if (this.#state !== 'open') {
      return Promise.resolve({ kind: 'deferred', reason: 'dispatch is stopping' });
    }

    if (route.kind === 'handler') {
      const lane = this.#handlerLane();
      return this.#withRetries(lane, task, options, () => this.#handlerAttempt(lane, task, variables, route.module, route.variables));
    }
    const service = this.#config.services.get(route.service);
    if (service === undefined) {
      return Promise.resolve({ kind: 'failure', message: `service "${route.service}" is not declared`, details: undefined });
    }
    const lane = this.#serviceLane(service);
    return this.#withRetries(lane, task, options, () => this.#httpAttempt(lane, service, task, variables, route));
  }

  /** Sends every batch still waiting for more tasks now, instead of after its `maxWait`. */
  flushBatches(): void {
    for (const lane of this.#lanes.values()) {
      lane.batcher?.flush();
    }
  }

  /** Tasks a lane may hold at once: `maxConcurrent`, times the batch size for a batch endpoint. */
  slotLimit(lane: string): number {
    if (lane === HANDLER_LANE) {
      return this.#config.dispatch.handlerConcurrency;
    }
    const service = this.#config.services.get(lane);
    if (service === undefined) {
      return 0;
    }
    return service.maxConcurrent * (service.batch?.maxSize ?? 1);
  }

  /**
   * Returns how many new tasks a service's breaker admits: unlimited while
   * closed, one probe while half-open and no probe is out, none while open.
   */
  breakerAdmits(lane: string): number {
    const breaker = this.#lanes.get(lane)?.breaker;
    if (breaker === undefined || breaker.state === 'closed') {
      return Number.POSITIVE_INFINITY;
    }
    return breaker.awaitsProbe ? 1 : 0;
  }

  /** Calls `listener` whenever a service's breaker changes state. */
  onBreakerChange(listener: (service: string, state: BreakerState) => void): void {
    this.#breakerListeners.push(listener);
  }

  /** Tasks waiting or running, per service (handlers under `(handlers)`). */
  queueDepths(): Record<string, number> {
    const depths: Record<string, number> = {};
    for (const [name, lane] of this.#lanes) {
      depths[name] = lane.queue.size + lane.queue.pending;
    }
    depths[HANDLER_LANE] ??= 0;
    return depths;
  }

  stats(): DispatchStats {
    const breakers: Record<string, BreakerSnapshot> = {};
    for (const [name, lane] of this.#lanes) {
      if (lane.breaker !== undefined) {
        breakers[name] = lane.breaker.snapshot();
      }
    }
    return { ...this.#stats, breakers };
  }

  /** Opens a service's connection pool and breaker before its first task. */
  warm(serviceName: string): void {
    const service = this.#config.services.get(serviceName);
    if (service !== undefined) {
      this.#pools.warm(serviceName);
      this.#serviceLane(service);
    }
  }

  /** Waits until every dispatched task has its outcome. */
  onIdle(): Promise<void> {
    if (this.#active === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Starts no further task: tasks waiting in a queue, for a batch or between
   * retries resolve `deferred` at once, and later dispatches too. Tasks
   * already sent keep running.
   */
  stopStarting(): void {
    if (this.#state !== 'open') {
      return;
    }
    this.#state = 'draining';
    for (const lane of this.#lanes.values()) {
      this.#cancelWaiting(lane, 'dispatch is stopping');
    }
  }

  /**
   * Stops starting tasks (see {@link stopStarting}) and closes the
   * connection pools. Without `force`, requests and handlers in flight
   * finish first; with it, they are aborted and their tasks end as
   * failures. Safe to call twice: a later call waits for the first, but a
   * `force` still aborts what runs.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    this.stopStarting();
    if (options.force === true) {
      this.#abort.abort();
      void this.#pools.destroy();
    }
    this.#closing ??= this.#close(options.force === true);
    return this.#closing;
  }

  async #close(force: boolean): Promise<void> {
    if (force) {
      await this.#pools.destroy();
    } else {
      await this.onIdle();
      await this.#pools.close();
      this.#abort.abort();
    }
    for (const lane of this.#lanes.values()) {
      lane.breaker?.dispose();
    }
    this.#state = 'closed';
  }

  /** Runs attempts until one gives a result that is not a transient failure, or the retries run out. */
  async #withRetries(lane: Lane, task: Task, options: DispatchRequestOptions, attempt: () => Promise<TaskOutcome>): Promise<TaskOutcome> {
    this.#active += 1;
    try {
      for (let number = 1; ; number += 1) {
        if (this.#state !== 'open') {
          return { kind: 'deferred', reason: 'dispatch is stopping' };
        }
        const admission = lane.breaker?.admit() ?? 'allow';
        if (admission === 'reject') {
          return this.#breakerOutcome(lane, undefined);
        }

        const outcome = await attempt();
        if (outcome.kind === 'deferred') {
          if (admission === 'probe') {
            lane.breaker?.cancelProbe();
          }
          return outcome;
        }
        const transient = outcome.kind === 'failure' && outcome.transient === true;
        if (transient) {
          lane.lastFailure = outcome.message;
          if (lane.breaker === undefined || lane.breaker.state === 'closed') {
            // Bounded: after failureThreshold of these the breaker opens, and its own line carries the error.
            this.#logger.warn({ service: lane.name, taskId: task.id, attempt: number, error: outcome.message }, 'service call failed');
          }
          lane.breaker?.recordFailure();
        } else {
          lane.breaker?.recordSuccess();
          return outcome;
        }

        const pause = retryDelay(number, lane.retry);
        const pastDeadline = options.retryDeadline !== undefined && Date.now() + pause >= options.retryDeadline;
        if (number >= lane.retry.maxAttempts || pastDeadline) {
          return this.#breakerOutcome(lane, outcome);
        }
        this.#stats.retries += 1;
        this.#logger.debug({ taskId: task.id, topic: task.topic, service: lane.name, attempt: number, retryInMs: pause, reason: outcome.kind === 'failure' ? outcome.message : undefined }, 'transient error; retrying');
        await this.#sleep(lane, pause);
      }
    } finally {
      this.#active -= 1;
      if (this.#active === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const wake of waiters) {
          wake();
        }
      }
    }
  }

  /**
   * The outcome of a task that the breaker stopped, or whose last attempt
   * failed transiently: while the breaker is not closed and the outage is
   * within its budget, the task is deferred, so no retry is used up.
   */
  #breakerOutcome(lane: Lane, failure: TaskOutcome | undefined): TaskOutcome {
    const breaker = lane.breaker;
    if (breaker !== undefined && breaker.state !== 'closed' && breaker.withinBudget()) {
      return { kind: 'deferred', reason: `circuit breaker of service "${lane.name}" is ${breaker.state}` };
    }
    if (failure !== undefined) {
      return failure;
    }
    return {
      kind: 'failure',
      message: `circuit breaker of service "${lane.name}" is open and the outage has lasted longer than its outage budget`,
      details: undefined,
    };
  }

  #httpAttempt(lane: Lane, service: ServiceOptions, task: Task, variables: Variables, route: HttpRoute): Promise<TaskOutcome> {
    if (lane.batcher !== undefined) {
      return lane.batcher.add(task, route, variables);
    }
    return this.#queued(lane, task, service.name, () => dispatchHttp(this.#pools, service, route, task, variables, this.#tracing));
  }

  #handlerAttempt(lane: Lane, task: Task, variables: Variables, modulePath: string, names: readonly string[] | undefined): Promise<TaskOutcome> {
    return this.#queued(lane, task, modulePath, () => this.#runHandler(task, variables, modulePath, names));
  }

  /**
   * Runs `start` as a job of the lane's queue and settles with its outcome:
   * `deferred` when the job will not start, and a failure when `start`
   * throws or rejects, so no task is left waiting.
   */
  #queued(lane: Lane, task: Task, target: string, start: () => Promise<TaskOutcome>): Promise<TaskOutcome> {
    return new Promise((resolve) => {
      const fail = (error: unknown): void => resolve(this.#unexpectedFailure(task, target, error));
      const run = (): Promise<void> | undefined => {
        try {
          return start().then(resolve, fail);
        } catch (error) {
          fail(error);
          return undefined;
        }
      };
      this.#enqueue(lane, task.priority, run, (reason) => resolve({ kind: 'deferred', reason }));
    });
  }

  /**
   * Logs a dispatch that threw or rejected where it should have returned an
   * outcome, and returns a failure, so the task is reported and not left waiting.
   */
  #unexpectedFailure(task: Task, target: string, error: unknown): TaskOutcome {
    this.#logger.error({ err: error, taskId: task.id, topic: task.topic, target }, 'dispatch failed unexpectedly, so the task fails');
    return {
      kind: 'failure',
      message: `dispatch to ${target} failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
      details: error instanceof Error ? error.stack : undefined,
    };
  }

  async #runHandler(task: Task, variables: Variables, modulePath: string, names: readonly string[] | undefined): Promise<TaskOutcome> {
    let handler;
    try {
      handler = await this.#handlers.get(modulePath);
    } catch (error) {
      return {
        kind: 'failure',
        message: `handler module ${modulePath} failed to load: ${error instanceof Error ? error.message : String(error)}`,
        details: error instanceof Error ? error.stack : undefined,
      };
    }
    const handlerTask = { ...taskMetadata(task), variables: selectVariables(variables, names) };
    if (this.#tracing === undefined) {
      return runHandler(handler, modulePath, handlerTask, { signal: this.#abort.signal });
    }
    return this.#tracing.inSpan(SPAN.handler, { attributes: { [SEMCONV.codeFilePath]: modulePath } }, () => runHandler(handler, modulePath, handlerTask, { signal: this.#abort.signal }));
  }

  /** Adds a job to a lane's queue; `cancel` runs instead when the job will not start. */
  #enqueue(lane: Lane, priority: number, start: () => Promise<void> | undefined, cancel: (reason: string) => void): void {
    // The queue starts a job from whichever task freed its slot, so the job takes the context of the task that queued it.
    const run = this.#tracing === undefined ? start : context.bind(context.active(), start);
    const job: WaitingJob = { cancel };
    lane.waiting.add(job);
    void lane.queue.add(() => (lane.waiting.delete(job) ? run() : undefined), { priority }).catch((error: unknown) => {
      this.#logger.error({ err: error, service: lane.name }, 'dispatch job failed');
    });
  }

  /** Settles every job waiting in a lane as deferred and wakes the tasks pausing between retries. */
  #cancelWaiting(lane: Lane, reason: string): void {
    const waiting = [...lane.waiting];
    lane.waiting.clear();
    lane.queue.clear();
    for (const job of waiting) {
      job.cancel(reason);
    }
    lane.batcher?.cancelPending(reason);
    for (const wake of [...lane.sleepers]) {
      wake();
    }
  }

  #sleep(lane: Lane, milliseconds: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        lane.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, milliseconds);
      lane.sleepers.add(wake);
    });
  }

  #handlerLane(): Lane {
    let lane = this.#lanes.get(HANDLER_LANE);
    if (lane === undefined) {
      lane = {
        name: HANDLER_LANE,
        queue: new PQueue({ concurrency: this.#config.dispatch.handlerConcurrency }),
        retry: this.#config.dispatch.retry,
        breaker: undefined,
        batcher: undefined,
        waiting: new Set(),
        sleepers: new Set(),
        lastFailure: undefined,
      };
      this.#lanes.set(HANDLER_LANE, lane);
    }
    return lane;
  }

  #serviceLane(service: ServiceOptions): Lane {
    let lane = this.#lanes.get(service.name);
    if (lane !== undefined) {
      return lane;
    }

    const breaker = new CircuitBreaker(service.breaker);
    const created: Lane = {
      name: service.name,
      queue: new PQueue({ concurrency: service.maxConcurrent }),
      retry: service.retry,
      breaker,
      batcher: undefined,
      waiting: new Set(),
      sleepers: new Set(),
      lastFailure: undefined,
    };
    if (service.batch !== undefined) {
      created.batcher = new Batcher(
        service,
        service.batch,
        this.#pools,
        (priority, run, cancel) => this.#enqueue(created, priority, run, cancel),
        (size) => {
          this.#stats.batchRequests += 1;
          this.#stats.batchedTasks += size;
        },
      );
    }
    breaker.onChange(({ from, to, consecutiveFailures }) => {
      if (to === 'open') {
        this.#logger.warn({ service: service.name, from, to, consecutiveFailures, lastError: created.lastFailure }, 'circuit breaker state changed');
      } else {
        this.#logger.info({ service: service.name, from, to, consecutiveFailures }, 'circuit breaker state changed');
      }
      if (to === 'open') {
        this.#cancelWaiting(created, `circuit breaker of service "${service.name}" opened`);
      }
      for (const listener of this.#breakerListeners) {
        listener(service.name, to);
      }
    });
    this.#lanes.set(service.name, created);
    lane = created;
    return lane;
  }
}
