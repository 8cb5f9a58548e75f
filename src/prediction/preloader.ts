/**
 * Watches the engine for new versions of the processes the daemon serves
 * and preloads each one, so the first task of a new version finds its
 * definition parsed and its common activities' routes ready. The watched
 * process keys are the configured ones plus every key seen on a task. The
 * engine is polled for the latest definition of each key at a fixed
 * interval, one request per 50 keys.
 */
import type { PredictionOptions } from '../config/types.ts';
import type { EngineAdapter } from '../engine/adapter.ts';
import type { DefinitionVersion } from '../engine/types.ts';
import { IllegalStateError } from '../errors.ts';
import type { Logger } from '../telemetry/logger.ts';

/** Lifecycle of the preloader. */
export type PreloaderState = 'created' | 'running' | 'stopping' | 'stopped';

export interface DefinitionPreloaderOptions {
  /** Lists the latest definition of each key; the engine adapter's `latestDefinitions`. */
  listLatest: (processKeys: readonly string[]) => Promise<DefinitionVersion[]>;
  /** Preloads one new version. Errors are logged, and the version is tried again at the next poll. */
  preload: (version: DefinitionVersion) => Promise<void>;
  /** Pause between the end of one poll and the start of the next. */
  intervalMs: number;
  /** Keys watched from the start; their latest versions are preloaded at the first poll. */
  processKeys: readonly string[];
  /** Keys watched at most; keys seen on tasks beyond it are not watched. */
  maxKeys: number;
  logger: Logger;
}

/** See the module comment. */
export class DefinitionPreloader {
  readonly #options: DefinitionPreloaderOptions;
  /** The newest definition id known per watched key and tenant; undefined until the first poll for configured keys. */
  readonly #known = new Map<string, string | undefined>();
  readonly #keys = new Set<string>();
  #state: PreloaderState = 'created';
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<number> | undefined;
  #failing = false;
  #preloaded = 0;

  constructor(options: DefinitionPreloaderOptions) {
    if (!Number.isFinite(options.intervalMs) || options.intervalMs <= 0) {
      throw new TypeError(`DefinitionPreloader: intervalMs must be above 0, received ${String(options.intervalMs)}`);
    }
    this.#options = options;
    for (const key of options.processKeys) {
      this.#keys.add(key);
    }
  }

  get state(): PreloaderState {
    return this.#state;
  }

  /** New versions preloaded since the start. */
  get preloaded(): number {
    return this.#preloaded;
  }

  /**
   * Watches a process key seen on a task. The task's definition counts as
   * known, so only a newer version is preloaded. A key watched already keeps
   * the version recorded for it.
   */
  watch(processKey: string, definitionId: string, tenantId?: string): void {
    if (!this.#keys.has(processKey)) {
      if (this.#keys.size >= this.#options.maxKeys) {
        return;
      }
      this.#keys.add(processKey);
    }
    const slot = slotOf(processKey, tenantId);
    if (this.#known.get(slot) === undefined) {
      this.#known.set(slot, definitionId);
    }
  }

  start(): void {
    if (this.#state !== 'created') {
      throw new IllegalStateError(`DefinitionPreloader.start() called in state ${this.#state}; create a new preloader`);
    }
    this.#state = 'running';
    this.#options.logger.debug({ intervalMs: this.#options.intervalMs, processKeys: this.#keys.size }, 'definition preloader started');
    this.#schedule();
  }

  /** Stops polling and waits for a poll under way. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') {
      await this.#polling;
      return;
    }
    this.#state = 'stopping';
    clearTimeout(this.#timer);
    await this.#polling;
    this.#state = 'stopped';
    this.#options.logger.debug({ preloaded: this.#preloaded }, 'definition preloader stopped');
  }

  /**
   * Polls once: lists the latest versions of the watched keys and preloads
   * each that differs from the known one. Returns how many were preloaded.
   * Calls while a poll runs share it.
   */
  pollOnce(): Promise<number> {
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async #poll(): Promise<number> {
    if (this.#keys.size === 0) {
      return 0;
    }

    let versions: DefinitionVersion[];
    try {
      versions = await this.#options.listLatest([...this.#keys]);
    } catch (error) {
      if (!this.#failing) {
        this.#failing = true;
        this.#options.logger.warn({ err: error }, 'listing the latest definitions failed; new versions are not preloaded until it works again');
      }
      return 0;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#options.logger.info({ processKeys: this.#keys.size }, 'listing the latest definitions works again');
    }

    let preloaded = 0;
    for (const version of versions) {
      const slot = slotOf(version.processKey, version.tenantId);
      if (this.#known.get(slot) === version.definitionId) {
        continue;
      }
      try {
        await this.#options.preload(version);
      } catch (error) {
        this.#options.logger.warn({ err: error, definitionId: version.definitionId }, 'preloading a new definition version failed; retrying at the next poll');
        continue;
      }
      this.#known.set(slot, version.definitionId);
      this.#options.logger.debug({ definitionId: version.definitionId, processKey: version.processKey, version: version.version }, 'new definition version preloaded');
      preloaded += 1;
    }
    this.#preloaded += preloaded;
    return preloaded;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      void this.pollOnce().finally(() => {
        if (this.#state === 'running') {
          this.#schedule();
        }
      });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }
}

/** The orchestrator's two prefetch methods, which the preloader calls. */
export interface PreloadTarget {
  prefetchProcessXml(definitionId: string): Promise<boolean>;
  prefetchCommonActivities(definitionId: string, processKey?: string): Promise<number>;
}

/**
 * Creates the daemon's preloader, or returns undefined when
 * `prediction.preloadInterval` is 0 or the engine adapter cannot list
 * definitions.
 */
export function createDaemonPreloader(options: PredictionOptions, engine: EngineAdapter, target: PreloadTarget, logger: Logger): DefinitionPreloader | undefined {
  const listLatest = engine.latestDefinitions?.bind(engine);
  if (options.preloadIntervalMs === 0 || listLatest === undefined) {
    return undefined;
  }
  return new DefinitionPreloader({
    listLatest,
    preload: async (version) => {
      if (!(await target.prefetchProcessXml(version.definitionId))) {
        throw new Error(`definition ${version.definitionId} could not be loaded`);
      }
      await target.prefetchCommonActivities(version.definitionId, version.processKey);
    },
    intervalMs: options.preloadIntervalMs,
    processKeys: options.preloadProcessKeys,
    maxKeys: options.maxDefinitions,
    logger,
  });
}

function slotOf(processKey: string, tenantId: string | undefined): string {
  return `${tenantId ?? ''}\u0000${processKey}`;
}
