import { AdaptiveCache, type AdaptiveCacheOptions, type Clock } from '../../src/definitions/adaptive-cache.ts';

/** A fake clock for expiry tests: time moves only when the test calls `advance`. */
class FakeClock implements Clock {
  #now = 1_000;

  now(): number {
    return this.#now;
  }

  advance(milliseconds: number): void {
    this.#now += milliseconds;
  }
}

const MINUTE = 60_000;

function cacheWith(clock: FakeClock, options: Partial<AdaptiveCacheOptions<string>> = {}): AdaptiveCache<string> {
  return new AdaptiveCache<string>({
    name: 'test',
    ttlMs: 10 * MINUTE,
    maxTtlMs: 60 * MINUTE,
    ttlGrowth: 2,
    maxEntries: 100,
    maxBytes: 100_000,
    sizeOf: (_key, value) => value.length,
    clock,
    ...options,
  });
}

describe('adaptive expiry with fake clock', () => {
  test('unread entry expires after ttl', () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    cache.set('a', 'value');

    clock.advance(10 * MINUTE - 1);
    expect(cache.has('a')).toBe(true);
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats().expirations).toBe(1);
  });

  test('peek counts no read and extends nothing', () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    cache.set('a', 'value');

    expect(cache.peek('a')).toBe('value');
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.remainingTtl('a')).toBe(10 * MINUTE);
    expect(cache.stats().hits).toBe(0);
    expect(cache.stats().misses).toBe(0);
    clock.advance(10 * MINUTE);
    expect(cache.peek('a')).toBeUndefined();
  });

  test('each read doubles the lifetime from that read', () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    cache.set('a', 'value');

    expect(cache.get('a')).toBe('value');
    expect(cache.remainingTtl('a')).toBe(20 * MINUTE);
    clock.advance(19 * MINUTE);
    expect(cache.get('a')).toBe('value');
    expect(cache.remainingTtl('a')).toBe(40 * MINUTE);
  });

  test('lifetime stops growing at maxTtl', () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    cache.set('a', 'value');

    for (let read = 0; read < 10; read += 1) {
      cache.get('a');
    }
    expect(cache.remainingTtl('a')).toBe(60 * MINUTE);
    clock.advance(60 * MINUTE);
    expect(cache.get('a')).toBeUndefined();
  });

  test('often read entry outlives rarely read one', () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    cache.set('popular', 'p');
    cache.set('rare', 'r');

    for (let minute = 0; minute < 9; minute += 1) {
      clock.advance(MINUTE);
      cache.get('popular');
    }
    clock.advance(2 * MINUTE);

    expect(cache.has('popular')).toBe(true);
    expect(cache.has('rare')).toBe(false);
  });

  test('growth of 1 keeps ttl after each read', () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock, { ttlGrowth: 1 });
    cache.set('a', 'value');

    clock.advance(5 * MINUTE);
    cache.get('a');
    expect(cache.remainingTtl('a')).toBe(10 * MINUTE);
  });

  test('fixed ttl ignores reads', () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    cache.set('latest', 'v2', { fixedTtlMs: 30_000 });

    clock.advance(20_000);
    expect(cache.get('latest')).toBe('v2');
    expect(cache.remainingTtl('latest')).toBe(10_000);
    clock.advance(10_000);
    expect(cache.get('latest')).toBeUndefined();
  });

  test('purgeExpired removes only expired entries', () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    cache.set('old', 'o');
    clock.advance(5 * MINUTE);
    cache.set('young', 'y');
    clock.advance(5 * MINUTE);

    expect(cache.purgeExpired()).toBe(1);
    expect(cache.size).toBe(1);
    expect(cache.has('young')).toBe(true);
    expect(cache.purgeExpired()).toBe(0);
  });
});

describe('bounds and metrics', () => {
  test('entry count bound evicts least recently used', () => {
    const cache = cacheWith(new FakeClock(), { maxEntries: 2 });
    cache.set('a', '1');
    cache.set('b', '2');
    cache.get('a');
    cache.set('c', '3');

    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
    expect(cache.stats().evictions).toBe(1);
  });

  test('byte bound evicts until the sum fits', () => {
    const cache = cacheWith(new FakeClock(), { maxBytes: 10 });
    cache.set('a', 'xxxx');
    cache.set('b', 'yyyy');
    cache.set('c', 'zzzz');

    expect(cache.stats().bytes).toBe(8);
    expect(cache.has('a')).toBe(false);
    expect(cache.stats().evictions).toBe(1);
  });

  test('entry over maxBytes is not stored', () => {
    const cache = cacheWith(new FakeClock(), { maxBytes: 10 });
    cache.set('big', 'x'.repeat(11));

    expect(cache.has('big')).toBe(false);
    expect(cache.size).toBe(0);
  });

  test('hits, misses and per-entry reads', () => {
    const cache = cacheWith(new FakeClock(), { reportedEntries: 2 });
    cache.set('a', '1');
    cache.set('b', '2');
    cache.set('c', '3');
    for (const key of ['a', 'b', 'b', 'c', 'c', 'c', 'missing']) {
      cache.get(key);
    }

    const stats = cache.stats();
    expect(stats.hits).toBe(6);
    expect(stats.misses).toBe(1);
    expect(stats.size).toBe(3);
    expect(stats.topEntries).toEqual([{ key: 'c', reads: 3 }, { key: 'b', reads: 2 }]);
  });

  test('reportedEntries 0 lists none', () => {
    const cache = cacheWith(new FakeClock(), { reportedEntries: 0 });
    cache.set('a', '1');
    cache.get('a');

    expect(cache.stats().topEntries).toEqual([]);
  });

  test.each([
    ['maxEntries', { maxEntries: 0 }, 'maxEntries must be a positive integer'],
    ['maxEntries', { maxEntries: Number.POSITIVE_INFINITY }, 'unbounded cache is not allowed'],
    ['maxBytes', { maxBytes: 0 }, 'maxBytes must be a positive integer'],
    ['ttlMs', { ttlMs: 0 }, 'ttlMs must be a positive number'],
    ['maxTtlMs', { maxTtlMs: MINUTE }, 'maxTtlMs must be finite and at least ttlMs'],
    ['ttlGrowth', { ttlGrowth: 0.5 }, 'ttlGrowth must be a number of at least 1'],
  ] as const)('invalid %s rejected', (_name, options, message) => {
    expect(() => cacheWith(new FakeClock(), options)).toThrow(message);
  });
});
