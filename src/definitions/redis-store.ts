/**
 * The Redis tier of the definition cache: parsed models shared by the
 * replicas of a deployment, so a definition is fetched from the engine and
 * parsed once per deployment instead of once per daemon. Redis is an
 * optimisation only: every error or timeout is a miss, and the definition
 * comes from the engine.
 */
import { Redis } from 'ioredis';

import type { RedisOptions } from '../config/types.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Clock } from './adaptive-cache.ts';
import { systemClock } from './adaptive-cache.ts';
import { decodeModel, encodeModel, MODEL_FORMAT_VERSION } from './model-codec.ts';
import type { DefinitionModel } from './model.ts';

/**
 * The commands that callers of {@link RedisDefinitionStore.run} may send: a
 * pipeline of hash commands. An ioredis client satisfies it; naming the
 * commands here keeps ioredis's types out of the package's declarations.
 */
export interface RedisPipelineClient {
  pipeline(): RedisPipeline;
}

/** A pipeline of the hash commands that shared transition counts use. */
export interface RedisPipeline {
  hincrby(key: string, field: string, increment: number): RedisPipeline;
  pexpire(key: string, milliseconds: number): RedisPipeline;
  hgetall(key: string): RedisPipeline;
  /** Sends the commands; resolves one `[error, result]` pair per command, or null when the pipeline was discarded. */
  exec(): Promise<[error: Error | null, result: unknown][] | null>;
}

/** A cache tier between the in-memory cache and the engine. Neither method rejects. */
export interface SharedDefinitionStore {
  /** Returns the stored model, or undefined on a miss, an error or a timeout. */
  read(definitionId: string): Promise<DefinitionModel | undefined>;
  /** Stores a model. An error or a timeout is counted and logged, not raised. */
  write(definitionId: string, model: DefinitionModel): Promise<void>;
  stats(): SharedStoreStats;
  close(): Promise<void>;
}

/**
 * State of the Redis connection as the daemon uses it. An outage
 * (`unavailable`) starts with the first failed command or lost connection
 * and ends with the next successful PING or reconnect. Each change between
 * `available` and `unavailable` is logged once.
 */
export type RedisTierState = 'connecting' | 'available' | 'unavailable' | 'closed';

export interface SharedStoreStats {
  state: RedisTierState;
  hits: number;
  misses: number;
  writes: number;
  /** Commands that failed or timed out. */
  errors: number;
  /** Reads and writes not sent because Redis was unavailable. */
  skipped: number;
  /** Entries under this format version that could not be decoded. They count as misses. */
  invalidEntries: number;
  /** Outages that began since the start. */
  outages: number;
}

/**
 * While Redis is unavailable, a PING is sent at this interval to detect its
 * recovery when the connection stayed open (a server that hung instead of
 * closing the socket). A closed connection is reopened by ioredis itself.
 */
const PROBE_INTERVAL_MS = 1_000;

/** Returns the reconnect pause after the n-th failed attempt: 100 ms, doubling up to 5 s. ioredis retries without end. */
function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 6), 5_000);
}

/** The Redis tier over ioredis. Commands are never queued while disconnected, and each has a timeout. */
export class RedisDefinitionStore implements SharedDefinitionStore {
  readonly #client: Redis;
  readonly #options: RedisOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  /** `host:port` of the server for logs, because the URL may carry a password. */
  readonly #address: string;
  #state: RedisTierState = 'connecting';
  #outageStartedAt = 0;
  #probeTimer: NodeJS.Timeout | undefined;
  #stateWaiters: (() => void)[] = [];
  readonly #stats = { hits: 0, misses: 0, writes: 0, errors: 0, skipped: 0, invalidEntries: 0, outages: 0 };

  constructor(options: RedisOptions, logger: Logger, clock: Clock = systemClock) {
    this.#options = options;
    this.#logger = logger;
    this.#clock = clock;
    const url = new URL(options.url);
    this.#address = `${url.hostname}:${url.port || '6379'}`;
    this.#client = new Redis(options.url, {
      password: options.password,
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: reconnectDelay,
    });
    this.#client.on('ready', this.#onReady);
    this.#client.on('error', this.#onConnectionError);
    this.#client.on('close', this.#onClose);
  }

  get state(): RedisTierState {
    return this.#state;
  }

  /** Returns the key of a definition's model: prefix, format version and definition id. */
  key(definitionId: string): string {
    return `${this.#options.keyPrefix}definition:v${MODEL_FORMAT_VERSION}:${definitionId}`;
  }

  async read(definitionId: string): Promise<DefinitionModel | undefined> {
    if (!(await this.#usable())) {
      this.#stats.skipped += 1;
      return undefined;
    }

    let text: string | null;
    try {
      text = await this.#client.get(this.key(definitionId));
    } catch (error) {
      this.#onCommandError(error);
      return undefined;
    }
    this.#onCommandSuccess();

    if (text === null) {
      this.#stats.misses += 1;
      return undefined;
    }
    try {
      const model = decodeModel(text);
      this.#stats.hits += 1;
      return model;
    } catch (error) {
      this.#stats.invalidEntries += 1;
      this.#stats.misses += 1;
      this.#logger.warn({ err: error, definitionId, key: this.key(definitionId) }, 'redis entry unusable; reading the definition from the engine');
      return undefined;
    }
  }

  async write(definitionId: string, model: DefinitionModel): Promise<void> {
    if (!(await this.#usable())) {
      this.#stats.skipped += 1;
      return;
    }
    try {
      await this.#client.set(this.key(definitionId), encodeModel(model), 'PX', this.#options.ttlMs);
      this.#stats.writes += 1;
      this.#onCommandSuccess();
    } catch (error) {
      this.#onCommandError(error);
    }
  }

  stats(): SharedStoreStats {
    return { state: this.#state, ...this.#stats };
  }

  /**
   * Runs other commands on this connection under the same rules as reads
   * and writes: nothing is sent while Redis is unavailable, and an error or
   * a timeout begins an outage. Resolves undefined in those cases; never rejects.
   */
  async run<T>(command: (client: RedisPipelineClient) => Promise<T>): Promise<T | undefined> {
    if (!(await this.#usable())) {
      return undefined;
    }
    try {
      const result = await command(this.#client);
      this.#onCommandSuccess();
      return result;
    } catch (error) {
      this.#onCommandError(error);
      return undefined;
    }
  }

  /** Closes the connection; safe to call twice. */
  async close(): Promise<void> {
    if (this.#state === 'closed') {
      return;
    }
    this.#setState('closed');
    clearTimeout(this.#probeTimer);
    if (this.#client.status === 'ready') {
      const quit = this.#client.quit().catch(() => undefined);
      await Promise.race([quit, delay(this.#options.commandTimeoutMs)]);
    }
    this.#client.disconnect();
  }

  /**
   * Decides whether to send a command: only while Redis is available, so an
   * outage costs a task nothing. While connecting, waits for the connection
   * up to the command timeout.
   */
  async #usable(): Promise<boolean> {
    if (this.#state === 'connecting') {
      await this.#waitForStateChange(this.#options.commandTimeoutMs);
    }
    return this.#state === 'available';
  }

  /** Sends a PING every {@link PROBE_INTERVAL_MS} while unavailable and the connection looks open. */
  #scheduleProbe(): void {
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => {
      if (this.#state !== 'unavailable') {
        return;
      }
      if (this.#client.status !== 'ready') {
        this.#scheduleProbe();
        return;
      }
      this.#client.ping().then(
        () => this.#onCommandSuccess(),
        () => this.#scheduleProbe(),
      );
    }, PROBE_INTERVAL_MS);
    this.#probeTimer.unref();
  }

  #waitForStateChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#stateWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #onReady = (): void => {
    if (this.#state === 'connecting') {
      this.#logger.debug({ redis: this.#address }, 'redis connected');
      this.#setState('available');
    } else if (this.#state === 'unavailable') {
      this.#recover();
    }
  };

  #onConnectionError = (error: Error): void => {
    this.#beginOutage(error);
  };

  #onClose = (): void => {
    if (this.#state === 'available') {
      this.#beginOutage(new Error(`connection to redis at ${this.#address} closed`));
    }
  };

  #onCommandError(error: unknown): void {
    this.#stats.errors += 1;
    this.#beginOutage(error);
  }

  #onCommandSuccess(): void {
    if (this.#state === 'unavailable') {
      this.#recover();
    }
  }

  #beginOutage(error: unknown): void {
    if (this.#state === 'unavailable' || this.#state === 'closed') {
      return;
    }
    this.#stats.outages += 1;
    this.#outageStartedAt = this.#clock.now();
    this.#logger.warn(
      { err: error, redis: this.#address },
      'redis unavailable; definitions are read from the engine until it is back',
    );
    this.#setState('unavailable');
    this.#scheduleProbe();
  }

  #recover(): void {
    clearTimeout(this.#probeTimer);
    const outageMs = Math.round(this.#clock.now() - this.#outageStartedAt);
    this.#logger.info({ redis: this.#address, outageMs }, 'redis available again');
    this.#setState('available');
  }

  #setState(state: RedisTierState): void {
    this.#state = state;
    const waiters = this.#stateWaiters;
    this.#stateWaiters = [];
    for (const wake of waiters) {
      wake();
    }
  }
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds).unref());
}
