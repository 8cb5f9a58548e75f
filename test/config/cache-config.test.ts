import { parseConfig } from '../../src/config/load.ts';
import { issuesOf } from '../support/config.ts';

const BASE = `
engine: { baseUrl: http://127.0.0.1:8080/engine-rest }
topics: [{ topic: t }]
`;

const MIB = 1024 * 1024;

describe('cache configuration', () => {
  test('defaults bound every cache', () => {
    const { cache, definitions } = parseConfig(BASE, { env: {} });

    expect(cache.definitions).toEqual({
      ttlMs: 3_600_000,
      maxTtlMs: 86_400_000,
      ttlGrowth: 2,
      maxEntries: 1_000,
      maxBytes: 256 * MIB,
      latestVersionTtlMs: 30_000,
    });
    expect(cache.properties).toEqual({ ttlMs: 3_600_000, maxTtlMs: 86_400_000, ttlGrowth: 2, maxEntries: 100_000, maxBytes: 64 * MIB });
    expect(cache.docs).toEqual({ ttlMs: 600_000, maxTtlMs: 3_600_000, ttlGrowth: 2, maxEntries: 10_000, maxBytes: 16 * MIB });
    expect(cache.purgeIntervalMs).toBe(60_000);
    expect(cache.reportedEntries).toBe(10);
    expect(cache.redis).toBeUndefined();
    expect(definitions).toEqual({ maxBytes: 16 * MIB, maxDepth: 256, maxElements: 500_000 });
    expect(Object.isFrozen(cache.properties)).toBe(true);
  });

  test('every key can be set', () => {
    const { cache, definitions } = parseConfig(`${BASE}
cache:
  definitions: { ttl: 2h, maxTtl: 48h, ttlGrowth: 1.5, maxEntries: 50, maxBytes: 1048576, latestVersionTtl: 5s }
  properties: { ttl: '\${PROPERTIES_TTL}', maxTtl: 1h, ttlGrowth: '3', maxEntries: '200', maxBytes: 65536 }
  docs: { ttl: 1m, maxTtl: 1m, ttlGrowth: 1, maxEntries: 10, maxBytes: 2048 }
  purgeInterval: 0
  reportedEntries: 3
definitions: { maxBytes: 2097152, maxDepth: 64, maxElements: 1000 }
`, { env: { PROPERTIES_TTL: '15m' } });

    expect(cache.definitions).toEqual({ ttlMs: 7_200_000, maxTtlMs: 172_800_000, ttlGrowth: 1.5, maxEntries: 50, maxBytes: 1_048_576, latestVersionTtlMs: 5_000 });
    expect(cache.properties).toEqual({ ttlMs: 900_000, maxTtlMs: 3_600_000, ttlGrowth: 3, maxEntries: 200, maxBytes: 65_536 });
    expect(cache.docs).toEqual({ ttlMs: 60_000, maxTtlMs: 60_000, ttlGrowth: 1, maxEntries: 10, maxBytes: 2_048 });
    expect(cache.purgeIntervalMs).toBe(0);
    expect(cache.reportedEntries).toBe(3);
    expect(definitions).toEqual({ maxBytes: 2 * MIB, maxDepth: 64, maxElements: 1_000 });
  });

  test('ttl above default cap raises the cap', () => {
    const { cache } = parseConfig(`${BASE}cache: { docs: { ttl: 3h } }\n`, { env: {} });

    expect(cache.docs.maxTtlMs).toBe(10_800_000);
  });

  test('redis defaults and values', () => {
    const { cache } = parseConfig(`${BASE}
cache:
  redis: { url: 'redis://127.0.0.1:6379/2', password: '\${REDIS_PASSWORD}', keyPrefix: 'orders:', ttl: 6h, commandTimeout: 100ms }
`, { env: { REDIS_PASSWORD: 'secret' } });

    expect(cache.redis).toEqual({
      url: 'redis://127.0.0.1:6379/2',
      password: 'secret',
      keyPrefix: 'orders:',
      ttlMs: 21_600_000,
      connectTimeoutMs: 2_000,
      commandTimeoutMs: 100,
    });
    expect(parseConfig(`${BASE}cache: { redis: { url: 'redis://127.0.0.1' } }\n`, { env: {} }).cache.redis?.keyPrefix).toBe('bpmn-task-router:');
  });

  test.each([
    ['cache.definitions.maxEntries', 'cache: { definitions: { maxEntries: 0 } }', 'an integer from 1 to 10000000'],
    ['cache.properties.maxEntries', 'cache: { properties: { maxEntries: .inf } }', 'an integer from 1 to 10000000'],
    ['cache.docs.maxBytes', 'cache: { docs: { maxBytes: 100 } }', 'an integer from 1024 to 9007199254740991'],
    ['cache.docs.maxBytes', 'cache: { docs: { maxBytes: null } }', 'an integer from 1024 to 9007199254740991'],
    ['cache.properties.ttl', 'cache: { properties: { ttl: 0 } }', 'a duration above zero, such as 30s or 1h'],
    ['cache.properties.maxTtl', 'cache: { properties: { ttl: 1h, maxTtl: 10m } }', 'a maxTtl at least as long as ttl'],
    ['cache.definitions.ttlGrowth', 'cache: { definitions: { ttlGrowth: 0.5 } }', 'a number from 1 to 1000'],
    ['cache.definitions.latestVersionTtl', 'cache: { definitions: { latestVersionTtl: 0 } }', 'a duration above zero, such as 30s or 1h'],
    ['cache.reportedEntries', 'cache: { reportedEntries: 5000 }', 'an integer from 0 to 1000'],
    ['cache.properties.unbounded', 'cache: { properties: { unbounded: true } }', 'no such key; check its spelling and indentation'],
    ['cache.redis.url', "cache: { redis: { url: 'http://127.0.0.1:6379' } }", 'a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0'],
    ['cache.redis.url', 'cache: { redis: { ttl: 1h } }', 'a redis:// or rediss:// URL'],
    ['cache.redis.keyPrefix', "cache: { redis: { url: 'redis://127.0.0.1', keyPrefix: 'has space' } }", 'a key prefix of 1 to 100 printable characters without spaces'],
    ['cache.redis.commandTimeout', "cache: { redis: { url: 'redis://127.0.0.1', commandTimeout: 0 } }", 'a duration above zero, such as 30s or 1h'],
    ['definitions.maxBytes', 'definitions: { maxBytes: 67108864 }', 'an integer from 1024 to 33554432'],
  ])('%s rejected: %s', (path, yaml, expected) => {
    const issues = issuesOf(`${BASE}${yaml}\n`);

    expect(issues.map((issue) => issue.path)).toEqual([path]);
    expect(issues[0]?.expected).toBe(expected);
  });

  test('redis password hidden in messages', () => {
    const issues = issuesOf(`${BASE}cache: { redis: { url: 'redis://127.0.0.1', password: 42 } }\n`);

    expect(issues[0]?.path).toBe('cache.redis.password');
    expect(issues[0]?.received).toBe('(hidden)');
  });
});
