import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

import type { EngineOptions, TopicOptions } from '../config/types.ts';
import type { EngineAdapter } from '../engine/adapter.ts';
import type { FetchTopic, FetchedTask } from '../engine/types.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { CapacityLedger, Hold } from './capacity.ts';
import type { PollWatchdog } from './poll-watchdog.ts';

/** Bounds of the pause between fetches while the engine is unreachable; it doubles from the lower to the upper. */
const MIN_FETCH_BACKOFF_MS = 500;
const MAX_FETCH_BACKOFF_MS = 30_000;

/**
 * What a fetch loop does now: `polling` has a fetch-and-lock request out,
 * `waiting-for-capacity` waits for its lanes to free slots (or for a
 * breaker to close), `backing-off` waits after a failed fetch.
 */
export type FetchLoopState = 'created' | 'polling' | 'waiting-for-capacity' | 'backing-off' | 'pausing' | 'stopped';

export interface FetchLoopOptions {
  /** Name in logs: the lane of the loop's topics. */
  name: string;
  topics: readonly TopicOptions[];
  engine: EngineAdapter;
  engineOptions: EngineOptions;
  ledger: CapacityLedger;
  logger: Logger;
  /** Receives each fetched task with the capacity hold it owns. */
  deliver(fetched: FetchedTask, hold: Hold): void;
  /** Called each time the loop starts waiting for capacity. */
  onPause(): void;
  /** Receives every step of the loop, so `/healthz` can detect a stalled loop. */
  watchdog?: PollWatchdog;
}

/**
 * Fetches and locks the tasks of a group of topics, one request at a time,
 * asking only for what the capacity ledger allows. Stopping never aborts an
 * outstanding fetch: it waits for the engine's response, so no task is locked
 * without the daemon knowing it.
 */
export class FetchLoop {
  readonly #options: FetchLoopOptions;
  #state: FetchLoopState = 'created';
  readonly #stopping = new AbortController();
  #consecutiveErrors = 0;
  #running: Promise<void> | undefined;

  constructor(options: FetchLoopOptions) {
    this.#options = options;
  }

  get name(): string {
    return this.#options.name;
  }

  get state(): FetchLoopState {
    return this.#state;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops after the outstanding fetch, if any, has returned; safe to call twice. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
    this.#state = 'stopped';
    this.#options.watchdog?.stopped(this.name);
  }

  async #run(): Promise<void> {
    const { ledger, engineOptions } = this.#options;
    while (!this.#stopping.signal.aborted) {
      const plan = ledger.plan(this.#options.topics, engineOptions.maxTasks);
      if (plan === undefined) {
        if (this.#state !== 'waiting-for-capacity') {
          this.#state = 'waiting-for-capacity';
          this.#options.onPause();
          this.#options.logger.debug({ fetchLoop: this.#options.name }, 'fetching paused: no free capacity');
        }
        this.#options.watchdog?.waitingForCapacity(this.name);
        await this.#interruptible(ledger.changed());
        this.#options.watchdog?.working(this.name);
        // Slots often free in bursts: one turn lets them add up to a larger fetch.
        await nextTurn();
        continue;
      }

      this.#state = 'polling';
      const requestStarted = Date.now();
      this.#options.watchdog?.fetchStarted(this.name);
      let fetched: FetchedTask[];
      try {
        fetched = await this.#options.engine.fetchAndLock({
          topics: plan.topics.map(fetchTopic),
          maxTasks: plan.maxTasks,
          longPollMs: engineOptions.asyncResponseTimeoutMs,
        });
      } catch (error) {
        this.#options.watchdog?.fetchEnded(this.name, false);
        ledger.settle(plan, 0);
        await this.#backOff(error);
        continue;
      }

      this.#options.watchdog?.fetchEnded(this.name, true);
      this.#recovered();
      ledger.settle(plan, fetched.length);
      const responded = Date.now();
      for (const item of fetched) {
        // A loop fetches each topic name once, because the daemon gives a second entry of a name a loop of its own. So
        // the name finds the entry. The engine returns only topics that were requested, so the fallback is never taken.
        const entry = plan.topics.find((topic) => topic.topic === item.task.topic) ?? plan.topics[0] as TopicOptions;
        item.task.lockExpiresAt = lockExpiry(item.task.lockExpiresAt, requestStarted, responded, entry.lockDurationMs);
        this.#options.deliver(item, ledger.holdFor(plan, entry));
      }

      // A long poll already waits for tasks on the engine side, so only a plain fetch that came back short needs a pause.
      if (engineOptions.asyncResponseTimeoutMs === 0 && fetched.length < plan.maxTasks) {
        this.#state = 'pausing';
        await this.#pause(engineOptions.pollIntervalMs);
      }
    }
  }

  async #backOff(error: unknown): Promise<void> {
    this.#state = 'backing-off';
    this.#consecutiveErrors += 1;
    const base = Math.max(this.#options.engineOptions.pollIntervalMs, MIN_FETCH_BACKOFF_MS);
    const backoff = Math.min(MAX_FETCH_BACKOFF_MS, base * 2 ** Math.min(this.#consecutiveErrors - 1, 16));
    const pause = Math.round(backoff / 2 + Math.random() * (backoff / 2));
    if (this.#consecutiveErrors === 1) {
      this.#options.logger.warn({ err: error, fetchLoop: this.#options.name, retryInMs: pause }, 'engine fetch failed; backing off until it responds');
    }
    await this.#pause(pause);
  }

  #recovered(): void {
    if (this.#consecutiveErrors > 0) {
      this.#options.logger.info({ fetchLoop: this.#options.name, failedFetches: this.#consecutiveErrors }, 'engine reachable again');
    }
    this.#consecutiveErrors = 0;
  }

  /** Waits for `promise`, or less when stop() is called. */
  async #interruptible(promise: Promise<void>): Promise<void> {
    const { signal } = this.#stopping;
    if (signal.aborted) {
      return;
    }
    let onAbort: () => void = () => {};
    await Promise.race([promise, new Promise<void>((resolve) => {
      onAbort = () => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
    })]);
    signal.removeEventListener('abort', onAbort);
  }

  /** Sleeps, or less when stop() is called. */
  async #pause(milliseconds: number): Promise<void> {
    this.#options.watchdog?.pausing(this.name, milliseconds);
    try {
      await sleep(milliseconds, undefined, { signal: this.#stopping.signal });
    } catch {
      // Aborted by stop().
    }
    this.#options.watchdog?.working(this.name);
  }
}

/** Builds the fetch instruction of a topic entry: its lock, filters and variable selection. */
function fetchTopic(topic: TopicOptions): FetchTopic {
  return {
    topic: topic.topic,
    lockDurationMs: topic.lockDurationMs,
    variables: topic.variables,
    localVariables: topic.localVariables,
    tenantIds: topic.tenantIds,
    withoutTenantId: topic.withoutTenantId,
    processDefinitionKeys: topic.processDefinitionKeys,
    processDefinitionVersionTag: topic.processDefinitionVersionTag,
    businessKey: topic.businessKey,
  };
}

/**
 * The lock expiry to plan with. The engine took the lock between the
 * request's start and its response, so the expiry lies in that window plus
 * the lock duration; the engine's own figure is used when it falls inside,
 * which keeps a clock difference between the hosts from misleading.
 */
function lockExpiry(reported: number | undefined, requestStarted: number, responded: number, lockDurationMs: number): number {
  const earliest = requestStarted + lockDurationMs;
  const latest = responded + lockDurationMs;
  if (reported === undefined) {
    return earliest;
  }
  return Math.min(latest, Math.max(earliest, reported));
}
