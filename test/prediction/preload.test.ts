/**
 * Preloading on the real engine: the Camunda 7 adapter lists the latest
 * definitions, and a daemon that detects a new version deployed while it runs
 * serves that version's first task without fetching its XML on the way.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { parseConfig } from '../../src/config/load.ts';
import { startRuntime, type DaemonRuntime } from '../../src/daemon/runtime.ts';
import { countProcessInstances, deployBpmn, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { Camunda7Adapter } from '../../src/engine/camunda7/adapter.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { linearProcess } from '../support/bpmn.ts';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';
import { sampleValue, scrapeMetrics } from '../support/prometheus-text.ts';

const url = engineUrl();

describe('Camunda7Adapter.latestDefinitions', () => {
  const config = parseConfig(`engine: { baseUrl: ${url} }\ntopics: [{ topic: unused }]\n`, { env: {} });
  const adapter = new Camunda7Adapter(config.engine, { connections: 2 });

  afterAll(async () => {
    await adapter.close();
  });

  test('lists the latest version of each key', async () => {
    const first = uniqueProcessKey('Listed');
    const second = uniqueProcessKey('Listed');
    await deployBpmn(url, [{ name: `${first}.bpmn`, xml: linearProcess(first, [{ id: 'Work', topic: first }]) }]);
    const [newest] = await deployBpmn(url, [{ name: `${first}.bpmn`, xml: linearProcess(first, [{ id: 'Work', topic: first }]) }]);
    const [only] = await deployBpmn(url, [{ name: `${second}.bpmn`, xml: linearProcess(second, [{ id: 'Work', topic: second }]) }]);

    const versions = await adapter.latestDefinitions([first, second, uniqueProcessKey('Missing')]);

    expect(versions.sort((left, right) => left.processKey.localeCompare(right.processKey))).toEqual([
      { processKey: first, definitionId: newest?.id, version: 2, tenantId: undefined },
      { processKey: second, definitionId: only?.id, version: 1, tenantId: undefined },
    ].sort((left, right) => left.processKey.localeCompare(right.processKey)));
  });

  test('splits many keys over several queries', async () => {
    const key = uniqueProcessKey('ManyKeys');
    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key }]) }]);
    const keys = [...Array.from({ length: 120 }, () => uniqueProcessKey('Absent')), key];

    const versions = await adapter.latestDefinitions(keys);

    expect(versions).toEqual([{ processKey: key, definitionId: definition?.id, version: 1, tenantId: undefined }]);
  });
});

describe('daemon preloading a new version', () => {
  const key = uniqueProcessKey('Preloaded');
  const topic = `${key}-work`;
  const xml = linearProcess(key, [{ id: 'Work', topic }]);
  let proxy: CountingProxy;
  let service: TestServer;
  let runtime: DaemonRuntime;

  beforeAll(async () => {
    proxy = await startCountingProxy(url);
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: { done: true } }));
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml }]);

    const config = parseConfig(`
engine: { baseUrl: '${proxy.url}', asyncResponseTimeout: 1s }
services:
  backend: { baseUrl: '${service.url}' }
topics:
  - { topic: ${topic}, service: backend, path: /work }
prediction: { preloadInterval: 200ms }
telemetry:
  server: { host: 127.0.0.1, port: 0 }
`, { env: {} });
    mkdirSync(resolve('.tmp/test-logs'), { recursive: true });
    const logger = createLogger({ level: 'debug', destination: createWriteStream(join(resolve('.tmp/test-logs'), 'prediction-preload.log'), { flags: 'a' }) });
    runtime = await startRuntime({ config, logger });
  });

  afterAll(async () => {
    await runtime?.stop(5_000);
    await service?.close();
    await proxy?.close();
  });

  test('first task of the new version needs no XML fetch', async () => {
    await startProcessInstance(url, key);
    await waitFor(async () => (await countProcessInstances(url, key)).finished === 1, { timeoutMs: 30_000, description: 'the instance of version 1 to finish' });
    expect(proxy.xmlFetches).toBe(1);

    await deployBpmn(url, [{ name: `${key}.bpmn`, xml }]);
    await waitFor(() => proxy.xmlFetches === 2, { timeoutMs: 15_000, description: 'the preloader to fetch version 2' });
    await startProcessInstance(url, key);
    await waitFor(async () => (await countProcessInstances(url, key)).finished === 2, { timeoutMs: 30_000, description: 'the instance of version 2 to finish' });

    const { orchestratorMetrics, predictionMetrics } = runtime.daemon.orchestrator.getMetrics();
    const text = await scrapeMetrics(runtime.server?.address.port as number);
    expect(proxy.xmlFetches).toBe(2);
    expect(predictionMetrics.definitionsSeen).toBe(2);
    expect(predictionMetrics.definitionsPreloaded).toBe(1);
    expect(predictionMetrics.definitionLoads).toBe(1);
    expect(orchestratorMetrics.prefetchHitRate).toBe(0.5);
    expect(orchestratorMetrics.prefetchesUsed).toBe(2);
    expect(sampleValue(text, 'bpmn_router_tasks_arrived_total', { bpmn_router_readiness: 'ready' })).toBe(1);
    expect(sampleValue(text, 'bpmn_router_tasks_arrived_total', { bpmn_router_readiness: 'not_ready' })).toBe(1);
    expect(sampleValue(text, 'bpmn_router_prefetches_total', { bpmn_router_prefetch_result: 'used' })).toBe(2);
    // One poll is enough when the first poll after the first task already finds the new version.
    expect(sampleValue(text, 'bpmn_router_engine_calls_total', { bpmn_router_engine_call: 'latestDefinitions', http_response_status_code: '200' })).toBeGreaterThanOrEqual(1);
  });
});
