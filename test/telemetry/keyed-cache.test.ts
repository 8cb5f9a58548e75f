/**
 * The keyed cache behind the recorder's attribute sets: one value per
 * combination of keys, built once, and a bound that starts the cache over.
 */
import { KeyedCache } from '../../src/telemetry/keyed-cache.ts';

describe('KeyedCache', () => {
  test('builds a value once per combination of keys', () => {
    const cache = new KeyedCache<{ label: string }>(100);
    let builds = 0;
    const build = (service: string, path: string, method: string, status: number) => {
      builds += 1;
      return { label: `${method} ${service}${path} ${status}` };
    };

    const first = cache.get('inventory', '/reserve', 'POST', 200, build);
    expect(cache.get('inventory', '/reserve', 'POST', 200, build)).toBe(first);
    expect(cache.get('inventory', '/reserve', 'POST', 503, build).label).toBe('POST inventory/reserve 503');
    expect(cache.get('billing', '/reserve', 'POST', 200, build)).not.toBe(first);
    expect(builds).toBe(3);
    expect(cache.size).toBe(3);
  });

  test('treats unused keys as one combination', () => {
    const cache = new KeyedCache<string>(10);
    const value = cache.get('fetchAndLock', 200, undefined, undefined, (call, status) => `${call}:${status}`);

    expect(value).toBe('fetchAndLock:200');
    expect(cache.get('fetchAndLock', 200, undefined, undefined, () => 'rebuilt')).toBe('fetchAndLock:200');
  });

  test('starts over past its bound, so rare keys cannot grow it without limit', () => {
    const cache = new KeyedCache<number>(3);
    for (let status = 0; status < 10; status += 1) {
      cache.get('service', status, undefined, undefined, () => status);
    }

    expect(cache.size).toBeLessThanOrEqual(3);
    expect(cache.get('service', 9, undefined, undefined, () => -1)).toBe(9);
    expect(cache.get('service', 0, undefined, undefined, () => -1)).toBe(-1);
  });

  test('rejects a bound that is not a positive integer', () => {
    expect(() => new KeyedCache(0)).toThrow('KeyedCache: maxEntries must be a positive integer, received 0');
  });
});
