import { parseConfig } from '../../src/config/load.ts';
import { issuesOf } from '../support/config.ts';

const BASE = `
engine: { baseUrl: http://127.0.0.1:8080/engine-rest }
topics: [{ topic: t }]
`;

const MIB = 1024 * 1024;

describe('prediction configuration', () => {
  test('defaults bound the model', () => {
    const { prediction } = parseConfig(BASE, { env: {} });

    expect(prediction).toEqual({
      enabled: true,
      minProbability: 0.2,
      maxPrefetches: 3,
      prefetchWindowMs: 600_000,
      maxDefinitions: 1_000,
      maxBytesPerDefinition: 4 * MIB,
      maxBytes: 64 * MIB,
      maxInstances: 100_000,
      preloadIntervalMs: 1_000,
      preloadProcessKeys: [],
      shared: undefined,
    });
    expect(Object.isFrozen(prediction)).toBe(true);
  });

  test('every key can be set', () => {
    const { prediction } = parseConfig(`${BASE}
cache: { redis: { url: 'redis://127.0.0.1:6379' } }
prediction:
  enabled: '\${PREDICT}'
  minProbability: 0.5
  maxPrefetches: 0
  prefetchWindow: 1m
  maxDefinitions: 10
  maxBytesPerDefinition: 65536
  maxBytes: 1048576
  maxInstances: 500
  preloadInterval: 0
  preloadProcessKeys: [order-process, billing]
  shared: { syncInterval: 2s }
`, { env: { PREDICT: 'false' } });

    expect(prediction).toEqual({
      enabled: false,
      minProbability: 0.5,
      maxPrefetches: 0,
      prefetchWindowMs: 60_000,
      maxDefinitions: 10,
      maxBytesPerDefinition: 65_536,
      maxBytes: 1_048_576,
      maxInstances: 500,
      preloadIntervalMs: 0,
      preloadProcessKeys: ['order-process', 'billing'],
      shared: { syncIntervalMs: 2_000 },
    });
  });

  test.each([
    ['prediction.shared', 'prediction: { shared: {} }', 'cache.redis to be configured, since the counts are shared through it; add cache.redis or remove prediction.shared'],
    ['prediction.maxBytesPerDefinition', 'prediction: { maxBytesPerDefinition: 2097152, maxBytes: 1048576 }', 'a maxBytesPerDefinition no larger than maxBytes'],
    ['prediction.minProbability', 'prediction: { minProbability: 1.5 }', 'a number from 0 to 1'],
    ['prediction.enabled', 'prediction: { enabled: yes please }', 'true or false'],
    ['prediction.maxBytes', 'prediction: { maxBytes: 100 }', 'an integer from 16384 to 9007199254740991'],
    ['prediction.prefetchWindow', 'prediction: { prefetchWindow: 0 }', 'a duration above zero, such as 30s or 1h'],
    ['prediction.preloadProcessKeys[0]', "prediction: { preloadProcessKeys: ['a,b'] }", 'a process definition key such as order-process, without spaces, commas or colons'],
    ['prediction.preloadInterval', 'prediction: { preloadInterval: soon }', 'a duration: milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h'],
  ])('%s rejected: %s', (path, yaml, expected) => {
    const issues = issuesOf(`${BASE}${yaml}\n`);

    expect(issues.map((issue) => issue.path)).toEqual([path]);
    expect(issues[0]?.expected).toBe(expected);
  });
});
