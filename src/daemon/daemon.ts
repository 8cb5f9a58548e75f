import { SpanKind } from '@opentelemetry/api';

import type { RouterConfig, TopicOptions } from '../config/types.ts';
import { HANDLER_LANE } from '../dispatch/dispatcher.ts';
import type { EngineAdapter } from '../engine/adapter.ts';
import { isEngineConflict, isRejectedTaskCall, isTransientEngineError } from '../engine/adapter.ts';
import { createEngineAdapter } from '../engine/create.ts';
import type { FetchedTask, Task, Variables } from '../engine/types.ts';
import { EngineRequestError, IllegalStateError } from '../errors.ts';
import { ServiceOrchestrator, type RoutedOutcome } from '../orchestrator.ts';
import { createDaemonPreloader, type DefinitionPreloader } from '../prediction/preloader.ts';
import type { Route } from '../routing/route.ts';
import type { Logger } from '../telemetry/logger.ts';
import { BPMN, ROUTER, SPAN } from '../telemetry/names.ts';
import { Telemetry } from '../telemetry/otel.ts';
import { TaskTracing } from '../telemetry/tracing.ts';
import { CapacityLedger, type Hold } from './capacity.ts';
import { failureReport } from './failure-policy.ts';
import { FetchLoop, type FetchLoopState } from './fetch-loop.ts';
import { LockKeeper, type KeptLock } from './lock-keeper.ts';
import type { PollWatchdog } from './poll-watchdog.ts';

/** Period of the timer that keeps the process alive while the daemon runs; it does nothing when it fires. */
const KEEP_ALIVE_INTERVAL_MS = 60_000;

/** Lifecycle of the daemon; each change is logged at info. */
export type DaemonState = 'created' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Pause between two attempts to report an outcome while the engine is unreachable. */
const REPORT_RETRY_MS = { initial: 500, max: 10_000 };

/** Attempts of an outcome report that fail with HTTP 500 before a complete or BPMN error is reported as a failure. */
const SERVER_ERROR_ATTEMPTS = 3;

/** Upper bounds of the retries after optimistic-locking conflicts, which another transaction's commit resolves within milliseconds. */
const CONFLICT_RETRY = { attempts: 10, maxPauseMs: 200 };

/** How long before the lock expires retrying stops, since the engine hands the task out again after it. */
const LOCK_SAFETY_MARGIN_MS = 1_000;

/** Fetch loop of the topics that have neither a service nor a handler: each activity names its service. */
const ACTIVITY_ROUTED = '(activity-routed)';

/** Engine connections besides the fetch loops' long polls, for reports and lock extensions. */
const REPORT_CONNECTIONS = 32;

export interface DaemonOptions {
  config: RouterConfig;
  logger: Logger;
  /** Defaults to a new orchestrator over `config`; closed with the daemon either way. */
  orchestrator?: ServiceOrchestrator;
  /** Defaults to the adapter of `config.engine.type`, which the daemon closes when it stops. */
  engine?: EngineAdapter;
  /**
   * Tracer and meter of the daemon and of the orchestrator it creates;
   * defaults to telemetry that exports nothing. The caller shuts it down.
   */
  telemetry?: Telemetry;
  /** Receives the fetch loops' steps, for `/healthz`. */
  watchdog?: PollWatchdog;
}

/** A task the daemon fetched and has not finished with. */
interface InFlight extends KeptLock {
  variables: Variables;
  /** Reason the adapter could not read the task's variables; the task then fails without dispatch. */
  variablesError: string | undefined;
  hold: Hold;
  /** Set when the task was given back at shutdown: its late outcome is dropped. */
  unlocked: boolean;
  stopKeeping: () => void;
  done: Promise<void>;
}

/**
 * The worker daemon: fetch loops lock tasks as capacity allows, each task
 * is routed and dispatched through the orchestrator with its lock kept
 * alive, and its outcome is reported. A task's own errors always end in a
 * reported failure, never in a lock left to expire.
 */
export class Daemon {
  readonly #config: RouterConfig;
  readonly #logger: Logger;
  readonly orchestrator: ServiceOrchestrator;
  readonly #engine: EngineAdapter;
  readonly #ownsEngine: boolean;
  readonly #ledger: CapacityLedger;
  readonly #keeper: LockKeeper;
  readonly #tracing: TaskTracing;
  readonly #loops: FetchLoop[];
  /** Preloads new versions of the served processes; undefined when turned off or the engine cannot list definitions. */
  readonly #preloader: DefinitionPreloader | undefined;
  readonly #inFlight = new Map<string, InFlight>();
  /** Unlocks under way for tasks that arrived while stopping or were deferred. */
  readonly #unlocks = new Set<Promise<void>>();
  #state: DaemonState = 'created';
  #stopping: Promise<void> | undefined;
  /** Settles once every fetch loop has stopped; undefined until stop() begins. */
  #fetchingStopped: Promise<void> | undefined;
  #forceStop: (() => void) | undefined;
  #forced = false;
  #keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(options: DaemonOptions) {
    this.#config = options.config;
    this.#logger = options.logger;
    this.orchestrator = options.orchestrator ?? new ServiceOrchestrator({ config: options.config, logger: options.logger, telemetry: options.telemetry ?? Telemetry.disabled() });
    this.#tracing = new TaskTracing(options.telemetry);

    const groups = groupTopics(this.#config.topics);
    this.#ownsEngine = options.engine === undefined;
    this.#engine = options.engine ?? createEngineAdapter(options.config.engine, {
      connections: groups.size + REPORT_CONNECTIONS,
      observe: (call, milliseconds, result) => this.orchestrator.recordEngineCall(call, milliseconds, result),
      logger: this.#logger,
    });

    const dispatcher = this.orchestrator.dispatcher;
    this.#ledger = new CapacityLedger(dispatcher, this.#config.topics, laneOfTopic);
    dispatcher.onBreakerChange(() => this.#ledger.notify());

    this.#keeper = new LockKeeper({
      engine: this.#engine,
      workerId: this.#config.engine.workerId,
      extendAt: this.#config.engine.extendLockAt,
      logger: this.#logger,
      onExtended: () => this.orchestrator.recordDaemonEvent('lockExtensions'),
      onFailed: () => this.orchestrator.recordDaemonEvent('lockExtensionFailures'),
    });

    this.#loops = [...groups].map(([name, topics]) => new FetchLoop({
      name,
      topics,
      engine: this.#engine,
      engineOptions: this.#config.engine,
      ledger: this.#ledger,
      logger: this.#logger,
      deliver: (fetched, hold) => this.#deliver(fetched, hold),
      onPause: () => this.orchestrator.recordDaemonEvent('fetchPauses'),
      watchdog: options.watchdog,
    }));
    this.#preloader = createDaemonPreloader(this.#config.prediction, this.#engine, this.orchestrator, this.#logger);
  }

  get state(): DaemonState {
    return this.#state;
  }

  /** Tasks fetched and not yet reported. */
  get tasksInFlight(): number {
    return this.#inFlight.size;
  }

  /** Returns what each fetch loop does now, keyed by its lane (a service, `(handlers)` or `(activity-routed)`). */
  fetchStates(): Record<string, FetchLoopState> {
    const states: Record<string, FetchLoopState> = {};
    for (const loop of this.#loops) {
      states[loop.name] = loop.state;
    }
    return states;
  }

  start(): void {
    if (this.#state !== 'created') {
      throw new IllegalStateError(`Daemon.start() called in state ${this.#state}; create a new daemon`);
    }
    for (const loop of this.#loops) {
      loop.start();
    }
    this.#preloader?.start();
    // While every fetch loop waits for capacity (all breakers open, say), no request or ref'd timer is pending,
    // and Node would exit as if the work were done. This timer keeps the daemon alive until stop() ends.
    this.#keepAlive = setInterval(() => {}, KEEP_ALIVE_INTERVAL_MS);
    this.#setState('running', {
      engine: this.#config.engine.baseUrl,
      workerId: this.#config.engine.workerId,
      topics: this.#config.topics.map((topic) => topic.topic),
    });
  }

  /**
   * Stops fetching, gives back the tasks fetched but not started, lets the
   * running ones finish within the grace period, gives back those still
   * running after it, and closes connections. Safe to call twice: the
   * second call waits for the first.
   */
  stop(gracePeriodMs = this.#config.shutdown.gracePeriodMs): Promise<void> {
    this.#stopping ??= this.#stop(gracePeriodMs);
    return this.#stopping;
  }

  /**
   * Stops now: running tasks are given back at once and their requests
   * aborted. Still waits for outstanding fetches, so that the tasks they
   * lock are given back too. Safe to call during or after {@link stop}.
   */
  forceStop(): Promise<void> {
    this.#forced = true;
    this.#forceStop?.();
    return this.stop(0);
  }

  async #stop(gracePeriodMs: number): Promise<void> {
    if (this.#state === 'created') {
      await this.orchestrator.close();
      await this.#closeEngine();
      this.#setState('stopped', {});
      return;
    }
    this.#setState('stopping', { tasksInFlight: this.#inFlight.size, gracePeriodMs });

    try {
      this.orchestrator.dispatcher.stopStarting();
      const preloaderStopped = this.#preloader?.stop();
      const loopsStopped = Promise.all([...this.#loops.map((loop) => loop.stop()), this.#engine.stopFetching?.()]);
      this.#fetchingStopped = loopsStopped.then(() => undefined);
      const drained = await this.#drain(gracePeriodMs);
      if (!drained) {
        await this.#unlockRemaining();
      }
      await preloaderStopped;
      await this.orchestrator.close({ force: !drained });
      await loopsStopped;
      await this.#settleInFlight();
      await Promise.allSettled([...this.#unlocks]);
      await this.#closeEngine();
      this.#setState('stopped', { tasksProcessed: this.orchestrator.metricsEnabled ? this.orchestrator.getMetrics().orchestratorMetrics.tasksProcessed : undefined });
    } catch (error) {
      this.#setState('failed', { err: error });
      throw error;
    } finally {
      clearInterval(this.#keepAlive);
    }
  }

  /** Waits until no task is in flight, the grace period ends, or a forced stop; resolves whether all finished. */
  async #drain(gracePeriodMs: number): Promise<boolean> {
    const forced = new Promise<void>((resolve) => {
      this.#forceStop = resolve;
      if (this.#forced) {
        resolve();
      }
    });
    const deadline = Date.now() + gracePeriodMs;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, gracePeriodMs);
    });

    try {
      while (this.#inFlight.size > 0 && Date.now() < deadline && !this.#forced) {
        const pending = [...this.#inFlight.values()].map((entry) => entry.done);
        await Promise.race([Promise.allSettled(pending), graceOver, forced]);
      }
    } finally {
      clearTimeout(timer);
    }
    return this.#inFlight.size === 0;
  }

  async #unlockRemaining(): Promise<void> {
    const remaining = [...this.#inFlight.values()];
    for (const entry of remaining) {
      entry.unlocked = true;
      entry.stopKeeping();
    }
    this.#logger.warn({ tasks: remaining.length, forced: this.#forced }, 'unlocking tasks still running');
    await Promise.allSettled(remaining.map((entry) => this.#unlock(entry.task)));
  }

  /** Waits, briefly, for the aborted tasks to settle, so no lock keeper outlives the daemon. */
  async #settleInFlight(): Promise<void> {
    const pending = [...this.#inFlight.values()];
    for (const entry of pending) {
      entry.stopKeeping();
    }
    await Promise.allSettled(pending.map((entry) => entry.done));
  }

  async #closeEngine(): Promise<void> {
    if (this.#ownsEngine) {
      await this.#engine.close();
    }
  }

  #deliver({ task, variables, variablesError }: FetchedTask, hold: Hold): void {
    if (this.#state !== 'running') {
      // A fetch that was outstanding when stop() began can still deliver tasks: give them straight back.
      this.#ledger.release(hold);
      this.#trackUnlock(task);
      return;
    }

    if (task.processDefinitionKey !== undefined) {
      this.#preloader?.watch(task.processDefinitionKey, task.processDefinitionId, task.tenantId);
    }
    const existing = this.#inFlight.get(task.id);
    if (existing !== undefined) {
      // The lock expired and the engine handed the task to this worker again: keep the running dispatch, with the new lock.
      this.#ledger.release(hold);
      existing.lockExpiresAt = task.lockExpiresAt ?? existing.lockExpiresAt;
      existing.lost = false;
      this.#logger.info({ taskId: task.id, topic: task.topic }, 'task fetched again while still running; keeping the running dispatch');
      return;
    }

    const lockDurationMs = hold.topic.lockDurationMs;
    const entry: InFlight = {
      task,
      variables,
      variablesError,
      hold,
      lockDurationMs,
      lockExpiresAt: task.lockExpiresAt ?? Date.now() + lockDurationMs,
      lost: false,
      unlocked: false,
      stopKeeping: () => {},
      done: Promise.resolve(),
    };
    entry.stopKeeping = this.#keeper.keep(entry);
    entry.done = this.#tracing.inTask(task, () => this.#process(entry)).finally(() => {
      entry.stopKeeping();
      this.#ledger.release(entry.hold);
      this.#inFlight.delete(task.id);
    });
    this.#inFlight.set(task.id, entry);
  }

  async #process(entry: InFlight): Promise<void> {
    const { task } = entry;
    const outcome = entry.variablesError === undefined
      ? await this.#route(entry)
      : { kind: 'failure' as const, message: `the task's variables could not be read: ${entry.variablesError}`, details: undefined, retryable: true };

    if (entry.unlocked) {
      this.#logger.debug({ taskId: task.id, outcome: outcome.kind }, 'outcome dropped: the task was unlocked at shutdown');
      return;
    }
    if (entry.lost) {
      this.#dropLateResult(task, outcome);
      return;
    }
    if (outcome.kind === 'deferred') {
      // While stopping, a fetch still out would lock the task again at once: unlock it only after the fetches returned.
      await this.#fetchingStopped;
      entry.stopKeeping();
      this.#logger.info({ taskId: task.id, topic: task.topic, reason: outcome.reason }, 'task deferred; unlocking it');
      await this.#unlock(task);
      return;
    }
    // The service is done with the task, so its slot goes to the next one while the outcome is reported.
    const reported = this.#ledger.reporting(entry.hold);
    try {
      await this.#report(entry, outcome);
    } finally {
      reported();
    }
  }

  async #route(entry: InFlight): Promise<RoutedOutcome> {
    try {
      return await this.orchestrator.routeTask(entry.task, entry.variables, {
        onRoute: (route) => this.#ledger.routed(entry.hold, laneOfRoute(route)),
        retryDeadline: entry.lockExpiresAt - LOCK_SAFETY_MARGIN_MS,
      });
    } catch (error) {
      return {
        kind: 'failure',
        message: `internal error while routing: ${errorMessage(error)}`,
        details: error instanceof Error ? error.stack : undefined,
        retryable: true,
      };
    }
  }

  #dropLateResult(task: Task, outcome: RoutedOutcome): void {
    this.orchestrator.recordDaemonEvent('lateResultsDropped');
    this.#logger.info({ taskId: task.id, topic: task.topic, outcome: outcome.kind }, 'late result dropped: the task is gone or locked by another worker');
  }

  /**
   * Reports an outcome. Transient engine errors are retried until shortly
   * before the lock expires, optimistic-locking conflicts promptly a few
   * times. A task gone from the engine drops its result. A complete or BPMN
   * error that the engine rejects, or that fails with HTTP 500 three times,
   * is reported as a failure instead. The engine then retries the task and
   * raises an incident with the reason once its retries run out.
   */
  async #report(entry: InFlight, outcome: RoutedOutcome): Promise<void> {
    const { task } = entry;
    const log = this.#logger.child({
      taskId: task.id,
      topic: task.topic,
      activityId: task.activityId,
      processInstanceId: task.processInstanceId,
      definitionId: task.processDefinitionId,
    });
    const lockDeadline = entry.lockExpiresAt - LOCK_SAFETY_MARGIN_MS;
    let report = outcome;
    let conflicts = 0;
    let serverErrors = 0;

    for (let attempt = 0, pause = REPORT_RETRY_MS.initial; ; attempt += 1) {
      try {
        await this.#send(task, report, log);
        return;
      } catch (error) {
        if (isEngineConflict(error) && conflicts < CONFLICT_RETRY.attempts && Date.now() < lockDeadline) {
          // Parallel branches completing at once: the engine rolled this call back, and a retry after the other commit succeeds.
          conflicts += 1;
          this.orchestrator.recordDaemonEvent('outcomeConflicts');
          log.debug({ err: error, outcome: report.kind, conflicts }, 'optimistic-locking conflict while reporting the outcome; retrying');
          await delay(Math.random() * Math.min(CONFLICT_RETRY.maxPauseMs, 10 * 2 ** conflicts));
          continue;
        }
        serverErrors += isServerError(error) ? 1 : 0;
        const refused = isRejectedTaskCall(error) || serverErrors >= SERVER_ERROR_ATTEMPTS;
        if (refused && report.kind !== 'failure') {
          if (await this.#isGone(task)) {
            this.#dropLateResult(task, report);
            return;
          }
          // The outcome itself cannot be stored (a variable without engine type, or one the engine refuses): report that as the task's failure.
          log.warn({ err: error, outcome: report.kind }, 'the task outcome was not accepted; reporting a failure instead');
          report = { kind: 'failure', message: `the ${report.kind} outcome was not accepted: ${errorMessage(error)}`, details: undefined, retryable: true };
          continue;
        }
        if (isRejectedTaskCall(error) && await this.#isGone(task)) {
          this.#dropLateResult(task, report);
          return;
        }

        const retry = (isTransientEngineError(error) || (isServerError(error) && serverErrors < SERVER_ERROR_ATTEMPTS)) && Date.now() + pause < lockDeadline;
        if (!retry) {
          this.orchestrator.recordDaemonEvent('outcomeReportsAbandoned');
          log.error({ err: error, outcome: report.kind, attempts: attempt + 1 }, 'reporting the task outcome failed; the engine hands the task out again when its lock expires');
          return;
        }
        if (attempt === 0) {
          log.warn({ err: error, outcome: report.kind }, 'reporting the task outcome failed; retrying');
        }
        await delay(pause);
        pause = Math.min(pause * 2, REPORT_RETRY_MS.max);
      }
    }
  }

  /** Reports an outcome to the engine inside a `bpmn_router.engine.report` span. */
  async #send(task: Task, outcome: RoutedOutcome, log: Logger): Promise<void> {
    const call = ENGINE_CALL_OF[outcome.kind];
    await this.#tracing.inSpan(SPAN.engineReport, { kind: SpanKind.CLIENT, attributes: { [ROUTER.engineCall]: call, [BPMN.taskId]: task.id } }, async (span) => {
      // The task span carries the outcome's status; this span fails only when the engine call does.
      span.setAttribute(ROUTER.outcome, outcome.kind);
      await this.#sendOutcome(task, outcome, log);
    });
    this.orchestrator.recordCompletion(outcome);
  }

  async #sendOutcome(task: Task, outcome: RoutedOutcome, log: Logger): Promise<void> {
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
      case 'deferred':
        await this.#engine.unlock(task);
        return;
    }
  }

  /** Whether the engine no longer has the task locked by this worker: it ended, or another worker holds it. */
  async #isGone(task: Task): Promise<boolean> {
    try {
      const lock = await this.#engine.lockOf(task.id);
      return lock === undefined || lock.workerId !== this.#config.engine.workerId;
    } catch (error) {
      this.#logger.warn({ err: error, taskId: task.id }, 'reading the task lock failed');
      return false;
    }
  }

  #trackUnlock(task: Task): void {
    const unlock = this.#unlock(task).finally(() => this.#unlocks.delete(unlock));
    this.#unlocks.add(unlock);
  }

  async #unlock(task: Task): Promise<void> {
    try {
      await this.#engine.unlock(task);
      this.orchestrator.recordDaemonEvent('tasksUnlocked');
    } catch (error) {
      this.#logger.warn({ err: error, taskId: task.id }, 'unlock failed; the task returns to the engine when its lock expires');
    }
  }

  #setState(state: DaemonState, fields: Record<string, unknown>): void {
    this.#state = state;
    this.#logger.info({ ...fields, state }, `daemon ${state}`);
  }
}

/** The engine call that reports each outcome, as the adapter names it. */
const ENGINE_CALL_OF: Record<RoutedOutcome['kind'], string> = {
  complete: 'complete',
  bpmnError: 'bpmnError',
  failure: 'failure',
  deferred: 'unlock',
};

/** Returns the lane of a topic's tasks, unless an activity names another service. */
function laneOfTopic(topic: TopicOptions): string | undefined {
  if (topic.handler !== undefined) {
    return HANDLER_LANE;
  }
  return topic.service;
}

function laneOfRoute(route: Route): string {
  return route.kind === 'handler' ? HANDLER_LANE : route.service;
}

/**
 * Groups topics by their lane; each group gets one fetch loop. The engine
 * keeps one instruction per topic name in a fetch request. So a second
 * entry of a name in a lane (another tenant's) goes to a group of its own,
 * named after the lane with `#2`, `#3` and so on.
 */
function groupTopics(topics: readonly TopicOptions[]): Map<string, TopicOptions[]> {
  const groups = new Map<string, TopicOptions[]>();
  for (const topic of topics) {
    const lane = laneOfTopic(topic) ?? ACTIVITY_ROUTED;
    let group = lane;
    for (let suffix = 2; groups.get(group)?.some((other) => other.topic === topic.topic) === true; suffix += 1) {
      group = `${lane}#${suffix}`;
    }
    groups.set(group, [...(groups.get(group) ?? []), topic]);
  }
  return groups;
}

/** Returns whether the engine returned HTTP 500; callers check for an optimistic-locking conflict first. */
function isServerError(error: unknown): boolean {
  return error instanceof EngineRequestError && error.status === 500;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
