/**
 * A bounded in-memory cache whose entries live longer the more often they are
 * read. lru-cache bounds it by entry count and by approximate bytes and picks
 * the least recently used entry to evict; the expiry rule is kept here.
 */
import { performance } from 'node:perf_hooks';

import { LRUCache } from 'lru-cache';

/** Source of the current time in milliseconds; the same shape as lru-cache's `perf` option. */
export interface Clock {
  now(): number;
}

/** The monotonic clock of `performance.now()`. */
export const systemClock: Clock = performance;

export interface AdaptiveCacheOptions<V> {
  /** Cache name for error messages and metrics, e.g. `properties`. */
  name: string;
  /** Lifetime of an entry that has not been read yet. */
  ttlMs: number;
  /** Upper bound of an entry's lifetime after a read. */
  maxTtlMs: number;
  /** Factor by which each read multiplies an entry's lifetime; 1 keeps it at `ttlMs`. */
  ttlGrowth: number;
  maxEntries: number;
  /** Approximate memory bound: the sum of `sizeOf` over all entries. */
  maxBytes: number;
  /** Estimated memory of one entry in bytes, at least 1. */
  sizeOf: (key: string, value: V) => number;
  /** How many of the most read entries {@link AdaptiveCache.stats} lists. @default 10 */
  reportedEntries?: number;
  clock?: Clock;
}

export interface SetOptions {
  /**
   * Fixed lifetime of this entry. Reads do not extend it, so the entry expires
   * this long after it was stored however often it is read.
   */
  fixedTtlMs?: number;
}

/** A cache entry with its read count and expiry. */
interface Slot<V> {
  readonly value: V;
  readonly bytes: number;
  reads: number;
  /** Current lifetime, counted from the last read (or from the store for an unread entry). */
  ttlMs: number;
  expiresAt: number;
  readonly adaptive: boolean;
}

export interface CacheEntryReads {
  key: string;
  reads: number;
}

export interface AdaptiveCacheStats {
  /** Reads that found a live entry. */
  hits: number;
  /** Reads that found no entry or an expired one. */
  misses: number;
  /** Entries held, expired ones not yet removed included. */
  size: number;
  /** Sum of the entries' estimated sizes. */
  bytes: number;
  /** Entries removed to make room under `maxEntries` or `maxBytes`. */
  evictions: number;
  /** Entries removed because their lifetime ran out. */
  expirations: number;
  /** The most read entries still held, most reads first. */
  topEntries: CacheEntryReads[];
}

/**
 * Cache with adaptive expiry. An entry that is never read expires `ttlMs`
 * after it was stored. The n-th read of an entry sets its remaining lifetime
 * to `min(maxTtlMs, ttlMs × ttlGrowthⁿ)`, counted from that read, so often
 * read entries live up to `maxTtlMs` past their last read and rarely read
 * ones expire after `ttlMs`. Entries stored with {@link SetOptions.fixedTtlMs}
 * keep that lifetime.
 *
 * Expired entries are removed when read, by {@link purgeExpired}, or when the
 * LRU evicts them; until then they count towards the bounds.
 */
export class AdaptiveCache<V> {
  readonly name: string;
  readonly #lru: LRUCache<string, Slot<V>>;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #maxTtlMs: number;
  readonly #ttlGrowth: number;
  readonly #sizeOf: (key: string, value: V) => number;
  readonly #reportedEntries: number;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #expirations = 0;

  /** @throws TypeError when a bound is missing, not finite or out of range, so no cache is unbounded. */
  constructor(options: AdaptiveCacheOptions<V>) {
    this.name = options.name;
    checkBounds(options);
    this.#clock = options.clock ?? systemClock;
    this.#ttlMs = options.ttlMs;
    this.#maxTtlMs = options.maxTtlMs;
    this.#ttlGrowth = options.ttlGrowth;
    this.#sizeOf = options.sizeOf;
    this.#reportedEntries = options.reportedEntries ?? 10;
    this.#lru = new LRUCache<string, Slot<V>>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (slot) => slot.bytes,
      dispose: (_slot, _key, reason) => {
        if (reason === 'evict') {
          this.#evictions += 1;
        }
      },
    });
  }

  /** Returns the live entry of `key` and extends its lifetime, or undefined on a miss. */
  get(key: string): V | undefined {
    const slot = this.#lru.get(key);
    if (slot === undefined) {
      this.#misses += 1;
      return undefined;
    }

    const now = this.#clock.now();
    if (now >= slot.expiresAt) {
      this.#lru.delete(key);
      this.#expirations += 1;
      this.#misses += 1;
      return undefined;
    }

    this.#hits += 1;
    slot.reads += 1;
    if (slot.adaptive) {
      if (slot.ttlMs < this.#maxTtlMs) {
        slot.ttlMs = Math.min(this.#maxTtlMs, slot.ttlMs * this.#ttlGrowth);
      }
      slot.expiresAt = now + slot.ttlMs;
    }
    return slot.value;
  }

  /** Returns whether `key` has a live entry, without counting a read. */
  has(key: string): boolean {
    const slot = this.#lru.peek(key);
    return slot !== undefined && this.#clock.now() < slot.expiresAt;
  }

  /** Returns the live entry of `key` without counting a read or extending its lifetime. */
  peek(key: string): V | undefined {
    const slot = this.#lru.peek(key);
    return slot !== undefined && this.#clock.now() < slot.expiresAt ? slot.value : undefined;
  }

  /** Milliseconds until the entry of `key` expires; 0 when there is no live entry. */
  remainingTtl(key: string): number {
    const slot = this.#lru.peek(key);
    return slot === undefined ? 0 : Math.max(0, slot.expiresAt - this.#clock.now());
  }

  /**
   * Stores an entry, replacing any entry of `key`. An entry larger than
   * `maxBytes` is not stored (lru-cache rejects it), so its key stays a miss.
   */
  set(key: string, value: V, options: SetOptions = {}): void {
    const ttlMs = options.fixedTtlMs ?? this.#ttlMs;
    const bytes = Math.max(1, Math.ceil(this.#sizeOf(key, value)));
    this.#lru.set(key, { value, bytes, reads: 0, ttlMs, expiresAt: this.#clock.now() + ttlMs, adaptive: options.fixedTtlMs === undefined });
  }

  /** Removes the entry of `key`; returns whether there was one, expired or not. */
  delete(key: string): boolean {
    return this.#lru.delete(key);
  }

  /** Removes every expired entry; returns how many. */
  purgeExpired(): number {
    const now = this.#clock.now();
    const expired: string[] = [];
    for (const [key, slot] of this.#lru.entries()) {
      if (now >= slot.expiresAt) {
        expired.push(key);
      }
    }
    for (const key of expired) {
      this.#lru.delete(key);
    }
    this.#expirations += expired.length;
    return expired.length;
  }

  clear(): void {
    this.#lru.clear();
  }

  get size(): number {
    return this.#lru.size;
  }

  stats(): AdaptiveCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      size: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      evictions: this.#evictions,
      expirations: this.#expirations,
      topEntries: this.#topEntries(),
    };
  }

  /** Selects the most read entries in one pass, keeping a short sorted list. */
  #topEntries(): CacheEntryReads[] {
    const limit = this.#reportedEntries;
    const top: CacheEntryReads[] = [];
    if (limit === 0) {
      return top;
    }

    for (const [key, slot] of this.#lru.entries()) {
      if (top.length === limit && slot.reads <= (top[limit - 1] as CacheEntryReads).reads) {
        continue;
      }
      let index = top.length;
      while (index > 0 && (top[index - 1] as CacheEntryReads).reads < slot.reads) {
        index -= 1;
      }
      top.splice(index, 0, { key, reads: slot.reads });
      if (top.length > limit) {
        top.pop();
      }
    }
    return top;
  }
}

function checkBounds<V>(options: AdaptiveCacheOptions<V>): void {
  const { name } = options;
  const positiveIntegers = { maxEntries: options.maxEntries, maxBytes: options.maxBytes };
  for (const [key, value] of Object.entries(positiveIntegers)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(`cache ${name}: ${key} must be a positive integer, received ${String(value)}; an unbounded cache is not allowed`);
    }
  }
  if (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0) {
    throw new TypeError(`cache ${name}: ttlMs must be a positive number of milliseconds, received ${String(options.ttlMs)}`);
  }
  if (!Number.isFinite(options.maxTtlMs) || options.maxTtlMs < options.ttlMs) {
    throw new TypeError(`cache ${name}: maxTtlMs must be finite and at least ttlMs (${options.ttlMs}), received ${String(options.maxTtlMs)}`);
  }
  if (!Number.isFinite(options.ttlGrowth) || options.ttlGrowth < 1) {
    throw new TypeError(`cache ${name}: ttlGrowth must be a number of at least 1, received ${String(options.ttlGrowth)}`);
  }
  const reported = options.reportedEntries ?? 10;
  if (!Number.isSafeInteger(reported) || reported < 0) {
    throw new TypeError(`cache ${name}: reportedEntries must be an integer of at least 0, received ${String(reported)}`);
  }
}
