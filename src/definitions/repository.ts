import { LRUCache } from 'lru-cache';

import type { CacheOptions } from '../config/types.ts';
import { BpmnParseError } from '../errors.ts';
import { parseDefinition } from './bpmn-extractor.ts';
import type { DefinitionModel } from './model.ts';

/** Where definition XML comes from: the engine adapter or its REST client. */
export interface DefinitionSource {
  definitionXml(definitionId: string): Promise<string>;
}

/** How long a definition that failed to parse is remembered, so a bad one is not re-fetched for every task. */
const FAILURE_TTL_MS = 30_000;

/** Estimated memory of a parsed model per byte of source XML (measured roughly; an estimate). */
const MODEL_BYTES_PER_XML_BYTE = 2;

type Entry = { model: DefinitionModel } | { error: Error };

export interface DefinitionCacheStats {
  hits: number;
  misses: number;
  size: number;
  bytes: number;
  evictions: number;
  fetches: number;
  failures: number;
}

/**
 * Parsed definitions by definition id: a bounded LRU with a TTL in front of
 * the source. Concurrent misses for one id share a single fetch and parse.
 */
export class DefinitionRepository {
  readonly #source: DefinitionSource;
  readonly #cache: LRUCache<string, Entry>;
  readonly #inFlight = new Map<string, Promise<DefinitionModel>>();
  readonly #stats = { hits: 0, misses: 0, evictions: 0, fetches: 0, failures: 0 };

  constructor(source: DefinitionSource, options: CacheOptions) {
    this.#source = source;
    this.#cache = new LRUCache<string, Entry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      ttl: options.ttlMs,
      sizeCalculation: (entry) => ('model' in entry ? Math.max(1, entry.model.sourceBytes * MODEL_BYTES_PER_XML_BYTE) : 1),
      dispose: (_entry, _key, reason) => {
        if (reason === 'evict') {
          this.#stats.evictions += 1;
        }
      },
    });
  }

  /** Returns the parsed definition, fetching and parsing it on a miss; rejects with the fetch or parse error. */
  get(definitionId: string): Promise<DefinitionModel> {
    const entry = this.#cache.get(definitionId);
    if (entry !== undefined) {
      this.#stats.hits += 1;
      return 'model' in entry ? Promise.resolve(entry.model) : Promise.reject(entry.error);
    }

    const pending = this.#inFlight.get(definitionId);
    if (pending !== undefined) {
      this.#stats.hits += 1;
      return pending;
    }

    this.#stats.misses += 1;
    const loading = this.#load(definitionId).finally(() => this.#inFlight.delete(definitionId));
    this.#inFlight.set(definitionId, loading);
    return loading;
  }

  /** Drops one definition from the cache; returns whether it was there. */
  delete(definitionId: string): boolean {
    return this.#cache.delete(definitionId);
  }

  /** Removes expired entries; returns how many. */
  purgeStale(): number {
    const before = this.#cache.size;
    this.#cache.purgeStale();
    return before - this.#cache.size;
  }

  stats(): DefinitionCacheStats {
    return { ...this.#stats, size: this.#cache.size, bytes: this.#cache.calculatedSize };
  }

  clear(): void {
    this.#cache.clear();
  }

  async #load(definitionId: string): Promise<DefinitionModel> {
    this.#stats.fetches += 1;
    try {
      const xml = await this.#source.definitionXml(definitionId);
      const model = parseDefinition(xml);
      this.#cache.set(definitionId, { model });
      return model;
    } catch (error) {
      this.#stats.failures += 1;
      const failure = error instanceof Error ? error : new Error(String(error));
      // Only a parse error is certain to repeat: a fetch error may pass once the engine is back.
      if (failure instanceof BpmnParseError) {
        this.#cache.set(definitionId, { error: failure }, { ttl: FAILURE_TTL_MS });
      }
      throw failure;
    }
  }
}
