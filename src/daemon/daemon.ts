import type { RouterConfig } from '../config/types.ts';
import type { EngineAdapter } from '../engine/adapter.ts';
import { isTransientEngineError } from '../engine/adapter.ts';
import { Camunda7Adapter } from '../engine/camunda7/adapter.ts';
import type { Task, Variables } from '../engine/types.ts';
import { IllegalStateError } from '../errors.ts';
import { ServiceOrchestrator, type RoutedOutcome } from '../orchestrator.ts';
import type { Logger } from '../telemetry/logger.ts';
import { failureReport } from './failure-policy.ts';

/** Lifecycle of the daemon; each change is logged at info. */
export type DaemonState = 'created' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Pause between two attempts to report an outcome while the engine is unreachable. */
const REPORT_RETRY_MS = { initial: 500, max: 10_000 };

/** How long before the lock expires reporting gives up, since the engine hands the task out again after it. */
const LOCK_SAFETY_MARGIN_MS = 1_000;

export interface DaemonOptions {
  config: RouterConfig;
  logger: Logger;
  /** Defaults to a new orchestrator over `config`; closed with the daemon either way. */
  orchestrator?: ServiceOrchestrator;
  /** Defaults to the Camunda 7 adapter. */
  engine?: EngineAdapter;
}

/**
 * The worker daemon: fetches tasks from the engine, routes and dispatches
 * each through the orchestrator, and reports its outcome. A task's own
 * errors always end in a reported failure, never in a lock left to expire.
 */
export class Daemon {
  readonly #config: RouterConfig;
  readonly #logger: Logger;
  readonly orchestrator: ServiceOrchestrator;
  readonly #engine: EngineAdapter;
  readonly #inFlight = new Map<string, { task: Task; done: Promise<void> }>();
  /** Tasks given back at shutdown: their late outcomes are dropped, since the engine may have handed them to another worker. */
  readonly #unlocked = new Set<string>();
  #state: DaemonState = 'created';
  #stopping: Promise<void> | undefined;

  constructor(options: DaemonOptions) {
    this.#config = options.config;
    this.#logger = options.logger;
    this.orchestrator = options.orchestrator ?? new ServiceOrchestrator({ config: options.config, logger: options.logger });
    this.#engine = options.engine ?? new Camunda7Adapter(options.config, options.logger, {
      maxParallelTasks: maxParallelTasks(options.config),
      observe: (call, milliseconds) => this.orchestrator.recordEngineCall(call, milliseconds),
    });
  }

  get state(): DaemonState {
    return this.#state;
  }

  /** Tasks fetched and not yet reported. */
  get tasksInFlight(): number {
    return this.#inFlight.size;
  }

  start(): void {
    if (this.#state !== 'created') {
      throw new IllegalStateError(`Daemon.start() called in state ${this.#state}; create a new daemon`);
    }
    this.#engine.start((task, variables) => this.#onTask(task, variables));
    this.#setState('running', {
      engine: this.#config.engine.baseUrl,
      workerId: this.#config.engine.workerId,
      topics: this.#config.topics.map((topic) => topic.topic),
    });
  }

  /**
   * Stops fetching, lets tasks in flight finish within the grace period,
   * gives back the ones still running after it, and closes connections.
   * Safe to call twice: the second call waits for the first.
   */
  stop(gracePeriodMs = this.#config.shutdown.gracePeriodMs): Promise<void> {
    this.#stopping ??= this.#stop(gracePeriodMs);
    return this.#stopping;
  }

  async #stop(gracePeriodMs: number): Promise<void> {
    if (this.#state === 'created') {
      await this.orchestrator.close();
      this.#setState('stopped', {});
      return;
    }
    this.#setState('stopping', { tasksInFlight: this.#inFlight.size, gracePeriodMs });

    try {
      await this.#engine.stopFetching();
      const drained = await this.#drain(gracePeriodMs);
      if (!drained) {
        await this.#unlockRemaining();
      }
      await this.orchestrator.close({ force: !drained });
      this.#setState('stopped', { tasksProcessed: this.orchestrator.getMetrics().orchestratorMetrics.tasksProcessed });
    } catch (error) {
      this.#setState('failed', { err: error });
      throw error;
    }
  }

  async #drain(gracePeriodMs: number): Promise<boolean> {
    const deadline = Date.now() + gracePeriodMs;
    while (this.#inFlight.size > 0 && Date.now() < deadline) {
      const pending = [...this.#inFlight.values()].map((entry) => entry.done);
      await Promise.race([Promise.allSettled(pending), delay(Math.max(0, deadline - Date.now()))]);
    }
    return this.#inFlight.size === 0;
  }

  async #unlockRemaining(): Promise<void> {
    const remaining = [...this.#inFlight.values()].map((entry) => entry.task);
    for (const task of remaining) {
      this.#unlocked.add(task.id);
    }
    this.#logger.warn({ tasks: remaining.length }, 'grace period over; unlocking tasks still running');
    await Promise.allSettled(remaining.map(async (task) => {
      try {
        await this.#engine.unlock(task);
      } catch (error) {
        this.#logger.warn({ err: error, taskId: task.id }, 'unlock failed; the task returns to the engine when its lock expires');
      }
    }));
  }

  #onTask(task: Task, variables: Variables): Promise<void> {
    if (this.#state !== 'running') {
      // A fetch that was outstanding when stop() began can still deliver tasks: give them straight back.
      return this.#engine.unlock(task).catch((error: unknown) => {
        this.#logger.warn({ err: error, taskId: task.id }, 'unlock during shutdown failed');
      });
    }

    const done = this.#process(task, variables).finally(() => this.#inFlight.delete(task.id));
    this.#inFlight.set(task.id, { task, done });
    return done;
  }

  async #process(task: Task, variables: Variables): Promise<void> {
    let outcome: RoutedOutcome;
    try {
      outcome = await this.orchestrator.routeTask(task, variables);
    } catch (error) {
      outcome = {
        kind: 'failure',
        message: `internal error while routing: ${error instanceof Error ? error.message : String(error)}`,
        details: error instanceof Error ? error.stack : undefined,
        retryable: true,
      };
    }
    if (this.#unlocked.has(task.id)) {
      this.#logger.debug({ taskId: task.id, outcome: outcome.kind }, 'outcome dropped: the task was unlocked at shutdown');
      return;
    }
    await this.#report(task, outcome);
  }

  /** Reports an outcome, retrying transient engine errors until shortly before the lock expires. */
  async #report(task: Task, outcome: RoutedOutcome): Promise<void> {
    const log = this.#logger.child({
      taskId: task.id,
      topic: task.topic,
      activityId: task.activityId,
      processInstanceId: task.processInstanceId,
      definitionId: task.processDefinitionId,
    });
    const deadline = (task.lockExpiresAt ?? Date.now() + this.#config.engine.lockDurationMs) - LOCK_SAFETY_MARGIN_MS;

    for (let attempt = 0, pause = REPORT_RETRY_MS.initial; ; attempt += 1, pause = Math.min(pause * 2, REPORT_RETRY_MS.max)) {
      try {
        await this.#send(task, outcome, log);
        return;
      } catch (error) {
        const retry = isTransientEngineError(error) && Date.now() + pause < deadline;
        if (!retry) {
          log.error({ err: error, outcome: outcome.kind, attempts: attempt + 1 }, 'reporting the task outcome failed; the engine hands the task out again when its lock expires');
          return;
        }
        if (attempt === 0) {
          log.warn({ err: error, outcome: outcome.kind }, 'reporting the task outcome failed; retrying');
        }
        await delay(pause);
      }
    }
  }

  async #send(task: Task, outcome: RoutedOutcome, log: Logger): Promise<void> {
    switch (outcome.kind) {
      case 'complete':
        await this.#engine.complete(task, outcome.variables);
        log.debug('task completed');
        return;
      case 'bpmnError':
        await this.#engine.bpmnError(task, outcome.errorCode, outcome.message, outcome.variables);
        log.info({ errorCode: outcome.errorCode }, 'BPMN error raised');
        return;
      case 'failure': {
        const report = failureReport(task, outcome, this.#config.engine.failure);
        await this.#engine.fail(task, report);
        log.warn({ reason: outcome.message, retriesLeft: report.retries, retryTimeoutMs: report.retryTimeoutMs }, 'task failed');
        return;
      }
    }
  }

  #setState(state: DaemonState, fields: Record<string, unknown>): void {
    this.#state = state;
    this.#logger.info({ ...fields, state }, `daemon ${state}`);
  }
}

/** How many tasks may be locked and running at once: the sum of the services' queues, plus handlers. */
function maxParallelTasks(config: RouterConfig): number {
  let capacity = 0;
  for (const service of config.services.values()) {
    capacity += service.maxConcurrent;
  }
  if (config.topics.some((topic) => topic.handler !== undefined)) {
    capacity += 32;
  }
  return Math.max(config.engine.maxTasks, Math.min(capacity, 10_000));
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
