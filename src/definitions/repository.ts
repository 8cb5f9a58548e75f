import type { CacheOptions } from '../config/types.ts';
import { BpmnParseError, DefinitionParseError } from '../errors.ts';
import { silentLogger, type Logger } from '../telemetry/logger.ts';
import { AdaptiveCache, type AdaptiveCacheStats, type Clock } from './adaptive-cache.ts';
import { DEFAULT_PARSE_LIMITS, parseDefinition } from './bpmn-extractor.ts';
import type { DefinitionModel, ParseLimits } from './model.ts';
import type { SharedDefinitionStore, SharedStoreStats } from './redis-store.ts';

/** Where definition XML comes from: the engine adapter or its REST client. */
export interface DefinitionSource {
  definitionXml(definitionId: string): Promise<string>;
  /**
   * Returns the id of the latest version of a process key, of `tenantId` or
   * of no tenant; needed only by {@link DefinitionRepository.latest}.
   */
  latestDefinitionId?(processKey: string, tenantId?: string): Promise<string>;
}

/** How long a definition that failed to parse is remembered, so a bad one is not re-fetched for every task. */
const FAILURE_TTL_MS = 30_000;

/**
 * Estimated memory of a parsed model per byte of source XML. The XML parser
 * benchmark measured about 1.3 for a large generated definition; 2 leaves
 * room for small definitions, whose fixed costs weigh more.
 */
const MODEL_BYTES_PER_XML_BYTE = 2;

/** Estimated memory of one latest-version entry: key, id and bookkeeping. */
const LATEST_VERSION_ENTRY_BYTES = 256;

type Entry = { model: DefinitionModel } | { error: Error };

export interface DefinitionCacheStats extends AdaptiveCacheStats {
  /** XML fetches from the source (the engine). */
  fetches: number;
  /** Fetches or parses that failed. */
  failures: number;
  /** The Redis tier's counters; undefined without one. */
  shared: SharedStoreStats | undefined;
}

export interface DefinitionRepositoryOptions {
  /** Limits checked before and while parsing; the extractor's defaults when left out. */
  parseLimits?: ParseLimits;
  /** A tier read on a local miss before the source, and written after a fetch. */
  shared?: SharedDefinitionStore;
  /** Fixed lifetime of a process key's latest definition id. @default 30 s */
  latestVersionTtlMs?: number;
  reportedEntries?: number;
  clock?: Clock;
  logger?: Logger;
  /** Called with the duration of each parse of definition XML in milliseconds, failed parses included. */
  onParsed?: (milliseconds: number) => void;
}

/**
 * Parsed definitions by definition id: a bounded in-memory cache with
 * adaptive expiry, then the shared tier when there is one, then the source.
 * Concurrent misses for one id share a single load.
 */
export class DefinitionRepository {
  readonly #source: DefinitionSource;
  readonly #cache: AdaptiveCache<Entry>;
  readonly #latestVersions: AdaptiveCache<string>;
  readonly #onParsed: ((milliseconds: number) => void) | undefined;
  readonly #latestVersionTtlMs: number;
  readonly #shared: SharedDefinitionStore | undefined;
  readonly #parseLimits: ParseLimits;
  readonly #logger: Logger;
  readonly #inFlight = new Map<string, Promise<DefinitionModel>>();
  readonly #stats = { fetches: 0, failures: 0 };

  constructor(source: DefinitionSource, cache: CacheOptions, options: DefinitionRepositoryOptions = {}) {
    this.#source = source;
    this.#shared = options.shared;
    this.#parseLimits = options.parseLimits ?? DEFAULT_PARSE_LIMITS;
    this.#logger = options.logger ?? silentLogger();
    this.#onParsed = options.onParsed;
    this.#latestVersionTtlMs = options.latestVersionTtlMs ?? 30_000;
    this.#cache = new AdaptiveCache<Entry>({
      name: 'definitions',
      ...cache,
      sizeOf: (_key, entry) => ('model' in entry ? entry.model.sourceBytes * MODEL_BYTES_PER_XML_BYTE : 1),
      reportedEntries: options.reportedEntries,
      clock: options.clock,
    });
    this.#latestVersions = new AdaptiveCache<string>({
      name: 'latest versions',
      ttlMs: this.#latestVersionTtlMs,
      maxTtlMs: this.#latestVersionTtlMs,
      ttlGrowth: 1,
      maxEntries: cache.maxEntries,
      maxBytes: cache.maxEntries * LATEST_VERSION_ENTRY_BYTES,
      sizeOf: () => LATEST_VERSION_ENTRY_BYTES,
      reportedEntries: 0,
      clock: options.clock,
    });
  }

  /**
   * Returns the parsed definition, loading it on a miss. Rejects with the
   * source's error, or with a {@link DefinitionParseError} naming the id.
   */
  get(definitionId: string): Promise<DefinitionModel> {
    const entry = this.#cache.get(definitionId);
    if (entry !== undefined) {
      return 'model' in entry ? Promise.resolve(entry.model) : Promise.reject(entry.error);
    }

    const pending = this.#inFlight.get(definitionId);
    if (pending !== undefined) {
      return pending;
    }

    const loading = this.#load(definitionId).finally(() => this.#inFlight.delete(definitionId));
    this.#inFlight.set(definitionId, loading);
    return loading;
  }

  /**
   * Returns the latest version of a process key, of `tenantId` or of no
   * tenant. The key's definition id is remembered per tenant for a fixed
   * `latestVersionTtlMs`, which reads do not extend, so a newly deployed
   * version is seen within that time.
   */
  async latest(processKey: string, tenantId?: string): Promise<DefinitionModel> {
    return this.get(await this.latestId(processKey, tenantId));
  }

  /** Returns the id of the latest version of a process key, remembered as {@link latest} describes. */
  async latestId(processKey: string, tenantId?: string): Promise<string> {
    // Tenants deploy the same key independently; the tenant is part of the key, `\u0000` cannot occur in either id.
    const cacheKey = tenantId === undefined ? processKey : `${tenantId}\u0000${processKey}`;
    const known = this.#latestVersions.get(cacheKey);
    if (known !== undefined) {
      return known;
    }
    if (this.#source.latestDefinitionId === undefined) {
      throw new TypeError('the definition source cannot look up a process key; give it a latestDefinitionId method');
    }
    const definitionId = await this.#source.latestDefinitionId(processKey, tenantId);
    this.#latestVersions.set(cacheKey, definitionId, { fixedTtlMs: this.#latestVersionTtlMs });
    return definitionId;
  }

  /**
   * Returns the cached parsed definition without counting a read or
   * extending its lifetime, so prefetching does not skew the cache's
   * figures; undefined when it is not cached or failed to parse.
   */
  peek(definitionId: string): DefinitionModel | undefined {
    const entry = this.#cache.peek(definitionId);
    return entry !== undefined && 'model' in entry ? entry.model : undefined;
  }

  /** Returns whether the definition (or its parse failure) is cached in memory, without counting a read. */
  has(definitionId: string): boolean {
    return this.#cache.has(definitionId);
  }

  /** Drops one definition from the in-memory cache; returns whether it was there. The Redis tier keeps its entry. */
  delete(definitionId: string): boolean {
    return this.#cache.delete(definitionId);
  }

  /** Removes expired entries, latest-version lookups included; returns how many definitions were removed. */
  purgeExpired(): number {
    this.#latestVersions.purgeExpired();
    return this.#cache.purgeExpired();
  }

  stats(): DefinitionCacheStats {
    return { ...this.#cache.stats(), ...this.#stats, shared: this.#shared?.stats() };
  }

  clear(): void {
    this.#cache.clear();
    this.#latestVersions.clear();
  }

  async #load(definitionId: string): Promise<DefinitionModel> {
    const stored = await this.#shared?.read(definitionId);
    if (stored !== undefined) {
      this.#cache.set(definitionId, { model: stored });
      this.#logger.debug({ definitionId }, 'definition read from redis');
      return stored;
    }

    this.#stats.fetches += 1;
    let model: DefinitionModel;
    try {
      const xml = await this.#source.definitionXml(definitionId);
      model = this.#parse(definitionId, xml);
    } catch (error) {
      this.#stats.failures += 1;
      const failure = error instanceof Error ? error : new Error(String(error));
      // Only a parse error is certain to repeat: a fetch error may pass once the engine is back.
      if (failure instanceof BpmnParseError) {
        this.#cache.set(definitionId, { error: failure }, { fixedTtlMs: FAILURE_TTL_MS });
      }
      throw failure;
    }

    this.#cache.set(definitionId, { model });
    this.#logger.debug({ definitionId, sourceBytes: model.sourceBytes }, 'definition fetched from the engine');
    await this.#shared?.write(definitionId, model);
    return model;
  }

  #parse(definitionId: string, xml: string): DefinitionModel {
    const started = performance.now();
    try {
      return parseDefinition(xml, this.#parseLimits);
    } catch (error) {
      throw error instanceof BpmnParseError ? new DefinitionParseError(definitionId, error) : error;
    } finally {
      this.#onParsed?.(performance.now() - started);
    }
  }
}
