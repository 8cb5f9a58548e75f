/**
 * A Redis outage on a redis-server that this test starts on a free loopback
 * port: killed, then restarted on the same port, then paused with SIGSTOP.
 * Tasks keep completing from the engine, each outage is logged once, and
 * the client reconnects by itself.
 */
import { parseConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { MODEL_FORMAT_VERSION } from '../../src/definitions/model-codec.ts';
import { countProcessInstances, deployBpmn, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';
import { readKey, startPrivateRedis, uniqueKeyPrefix, type PrivateRedis } from '../support/redis.ts';

interface LogLine {
  level: string;
  msg: string;
  outageMs?: number;
}

const UNAVAILABLE = 'redis unavailable; definitions are read from the engine until it is back';
const RECOVERED = 'redis available again';

describe('redis outage', () => {
  const url = engineUrl();
  const base = uniqueProcessKey('RedisOutage');
  const topic = `${base}-work`;
  const prefix = uniqueKeyPrefix();
  const lines: LogLine[] = [];
  let redis: PrivateRedis;
  let service: TestServer;
  let daemon: Daemon;

  const messages = (msg: string) => lines.filter((line) => line.msg === msg);
  const metrics = () => daemon.orchestrator.getMetrics();

  /** Deploys one process per key, starts `instances` instances of each and waits until all have finished. */
  async function runProcesses(keys: readonly string[], instances: number): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const key of keys) {
      const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic }]) }]);
      ids.set(key, definition!.id);
    }
    for (const key of keys) {
      for (let index = 0; index < instances; index += 1) {
        await startProcessInstance(url, key);
      }
    }
    for (const key of keys) {
      await waitFor(async () => (await countProcessInstances(url, key)).finished === instances, {
        timeoutMs: 30_000,
        description: `${instances} finished instances of ${key}`,
      });
    }
    return ids;
  }

  beforeAll(async () => {
    redis = await startPrivateRedis();
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: {} }));
    const config = parseConfig(`
engine: { baseUrl: ${url}, asyncResponseTimeout: 1s }
services: { backend: { baseUrl: '${service.url}' } }
topics: [{ topic: ${topic}, service: backend }]
cache:
  redis: { url: '${redis.url}', keyPrefix: '${prefix}', commandTimeout: 200ms, connectTimeout: 500ms }
`, { env: {} });
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
    });
    daemon = new Daemon({ config, logger });
    daemon.start();
  });

  afterAll(async () => {
    await daemon.stop(5_000);
    await service.close();
    redis.signal('SIGCONT');
    await redis.kill();
  });

  test('definitions written while redis is up', async () => {
    const ids = await runProcesses([`${base}_before`], 2);

    expect(metrics().cacheMetrics.processXml.shared).toMatchObject({ state: 'available', writes: 1, errors: 0 });
    expect(await readKey(redis.url, `${prefix}definition:v${MODEL_FORMAT_VERSION}:${ids.get(`${base}_before`)}`)).toBeDefined();
  });

  test('killed redis: tasks complete, one warning', async () => {
    await redis.kill();
    await runProcesses([`${base}_down1`, `${base}_down2`, `${base}_down3`], 2);

    expect(metrics().orchestratorMetrics.tasksByOutcome).toMatchObject({ complete: 8, failure: 0 });
    expect(metrics().cacheMetrics.processXml.fetches).toBe(4);
    expect(messages(UNAVAILABLE)).toHaveLength(1);
    expect(messages(UNAVAILABLE)[0]?.level).toBe('warn');
    expect(messages(RECOVERED)).toHaveLength(0);
  });

  test('restarted redis: client reconnects, writes resume', async () => {
    await redis.restart();
    await waitFor(() => messages(RECOVERED).length === 1, { timeoutMs: 15_000, description: 'the recovery log line' });
    const ids = await runProcesses([`${base}_after`], 1);

    expect(messages(RECOVERED)[0]?.level).toBe('info');
    expect(messages(RECOVERED)[0]?.outageMs).toBeGreaterThan(0);
    expect(metrics().cacheMetrics.processXml.shared?.state).toBe('available');
    expect(await readKey(redis.url, `${prefix}definition:v${MODEL_FORMAT_VERSION}:${ids.get(`${base}_after`)}`)).toBeDefined();
    expect(messages(UNAVAILABLE)).toHaveLength(1);
  });

  test('hung redis: tasks finish within the timeout', async () => {
    redis.signal('SIGSTOP');
    const started = Date.now();
    await runProcesses([`${base}_hung1`, `${base}_hung2`], 1);
    const elapsed = Date.now() - started;
    redis.signal('SIGCONT');

    expect(metrics().orchestratorMetrics.tasksByOutcome.failure).toBe(0);
    expect(messages(UNAVAILABLE)).toHaveLength(2);
    // Two definition loads while paused: each waits at most the 200 ms command timeout, or is skipped.
    expect(elapsed).toBeLessThan(10_000);
    expect(metrics().cacheMetrics.processXml.shared?.errors).toBeGreaterThanOrEqual(1);
    await runProcesses([`${base}_resumed`], 1);
    await waitFor(() => messages(RECOVERED).length === 2, { timeoutMs: 15_000, description: 'the second recovery log line' });
  });
});
