/**
 * Prediction and prefetching on the real engine: the daemon learns which
 * branch instances take, prepares the next tasks' routes before they
 * arrive, loads the definition a call activity starts, and reports it all
 * in getMetrics() and on /metrics. The library's prefetchCommonActivities()
 * prepares a definition's likely activities.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { parseConfig } from '../../src/config/load.ts';
import { startRuntime, type DaemonRuntime } from '../../src/daemon/runtime.ts';
import { countProcessInstances, deployBpmn, listExternalTasks, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { ServiceOrchestrator } from '../../src/orchestrator.ts';
import { createLogger, type Logger } from '../../src/telemetry/logger.ts';
import { branchingProcess, callingProcess } from '../support/bpmn.ts';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';
import { sampleValue, scrapeMetrics } from '../support/prometheus-text.ts';

const url = engineUrl();

function testLogger(name: string): Logger {
  mkdirSync(resolve('.tmp/test-logs'), { recursive: true });
  return createLogger({ level: 'debug', destination: createWriteStream(join(resolve('.tmp/test-logs'), `${name}.log`), { flags: 'a' }) });
}

function topicsOf(key: string, suffixes: readonly string[]): string {
  return suffixes.map((suffix) => `  - { topic: ${key}-${suffix}, service: backend, path: /${suffix} }`).join('\n');
}

async function runInstance(key: string, finishedBefore: number, variables: Record<string, unknown> = {}): Promise<void> {
  await startProcessInstance(url, key, { variables });
  await waitFor(async () => (await countProcessInstances(url, key)).finished > finishedBefore, { timeoutMs: 30_000, description: `instance ${finishedBefore + 1} of ${key} to finish` });
}

describe('daemon predicting the next task', () => {
  const key = uniqueProcessKey('Predicted');
  let service: TestServer;
  let runtime: DaemonRuntime;

  beforeAll(async () => {
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: {} }));
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: branchingProcess(key) }]);
    const config = parseConfig(`
engine: { baseUrl: ${url}, asyncResponseTimeout: 1s }
services:
  backend: { baseUrl: '${service.url}' }
topics:
${topicsOf(key, ['a', 'b', 'c'])}
telemetry:
  server: { host: 127.0.0.1, port: 0 }
`, { env: {} });
    runtime = await startRuntime({ config, logger: testLogger('prediction-branches') });
  });

  afterAll(async () => {
    await runtime?.stop(5_000);
    await service?.close();
  });

  test('learns the branch and prepares it', async () => {
    for (let index = 0; index < 10; index += 1) {
      await runInstance(key, index, { route: 'b' });
    }
    // Route c ends at D, whose topic no worker serves: those instances wait there.
    for (let waiting = 1; waiting <= 2; waiting += 1) {
      await startProcessInstance(url, key, { variables: { route: 'c' } });
      await waitFor(async () => (await listExternalTasks(url, { topicName: `${key}-unserved` })).length === waiting, {
        timeoutMs: 30_000,
        description: `instance ${10 + waiting} of ${key} to reach D`,
      });
    }

    const { orchestratorMetrics, predictionMetrics } = runtime.daemon.orchestrator.getMetrics();
    const text = await scrapeMetrics(runtime.server?.address.port as number);
    const predicted = (result: string) => sampleValue(text, 'bpmn_router_predictions_total', { bpmn_router_prediction_result: result }) ?? 0;

    // One scored prediction per instance: what follows A. D's topic is not served, so C is the last task the daemon receives.
    expect(orchestratorMetrics.predictions).toBe(12);
    expect(orchestratorMetrics.predictionAccuracyTop3).toBe(1);
    expect(orchestratorMetrics.predictionAccuracyTop1).toBeGreaterThanOrEqual(10 / 12);
    expect(predicted('top1') + predicted('top3') + predicted('miss')).toBe(12);
    expect(predicted('top1') / 12).toBe(orchestratorMetrics.predictionAccuracyTop1);
    // Only the first task of all, A of the first instance, had to load its definition.
    expect(sampleValue(text, 'bpmn_router_tasks_arrived_total', { bpmn_router_readiness: 'not_ready' })).toBe(1);
    expect(sampleValue(text, 'bpmn_router_tasks_arrived_total', { bpmn_router_readiness: 'ready' })).toBe(23);
    expect(orchestratorMetrics.prefetchHitRate).toBe(23 / 24);
    expect(orchestratorMetrics.prefetchesUsed).toBe(2);
    expect(orchestratorMetrics.prefetchesUnused).toBe(0);
    expect(predictionMetrics.model.transitionsNotAllowed).toBe(0);
    expect(predictionMetrics.model.definitions).toBe(1);
  });
});

describe('daemon counting unused prefetches', () => {
  const key = uniqueProcessKey('Unused');
  let service: TestServer;
  let runtime: DaemonRuntime;

  beforeAll(async () => {
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: {} }));
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: branchingProcess(key) }]);
    const config = parseConfig(`
engine: { baseUrl: ${url}, asyncResponseTimeout: 1s }
services:
  backend: { baseUrl: '${service.url}' }
topics:
${topicsOf(key, ['a', 'b', 'c'])}
prediction: { prefetchWindow: 1s }
`, { env: {} });
    runtime = await startRuntime({ config, logger: testLogger('prediction-unused') });
  });

  afterAll(async () => {
    await runtime?.stop(5_000);
    await service?.close();
  });

  test('branch never taken counts unused', async () => {
    await runInstance(key, 0, { route: 'b' });

    const metrics = await waitFor(() => {
      const { orchestratorMetrics } = runtime.daemon.orchestrator.getMetrics();
      return orchestratorMetrics.prefetchesUnused > 0 ? orchestratorMetrics : undefined;
    }, { timeoutMs: 10_000, description: 'the prefetch of C to count unused' });

    expect(metrics.prefetchesUsed).toBe(1);
    expect(metrics.prefetchesUnused).toBe(1);
    expect(metrics.unusedPrefetchShare).toBe(0.5);
  });
});

describe('daemon prefetching a called process', () => {
  const key = uniqueProcessKey('Caller');
  const childKey = uniqueProcessKey('Called');
  let proxy: CountingProxy;
  let service: TestServer;
  let runtime: DaemonRuntime;

  beforeAll(async () => {
    proxy = await startCountingProxy(url);
    // A's service responds slowly, so the called process is loaded well before its task arrives.
    service = await startTestServer(async (_request, response) => {
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 300));
      sendJson(response, 200, { variables: {} });
    });
    await deployBpmn(url, [
      { name: `${childKey}.bpmn`, xml: branchingProcess(childKey).replace(/<bpmn:exclusiveGateway[\s\S]*<\/bpmn:process>/, '<bpmn:endEvent id="End" /><bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="A" /><bpmn:sequenceFlow id="F2" sourceRef="A" targetRef="End" /></bpmn:process>') },
      { name: `${key}.bpmn`, xml: callingProcess(key, childKey) },
    ]);
    const config = parseConfig(`
engine: { baseUrl: '${proxy.url}', asyncResponseTimeout: 1s }
services:
  backend: { baseUrl: '${service.url}' }
topics:
${topicsOf(key, ['a'])}
${topicsOf(childKey, ['a'])}
`, { env: {} });
    runtime = await startRuntime({ config, logger: testLogger('prediction-call-activity') });
  });

  afterAll(async () => {
    await runtime?.stop(5_000);
    await service?.close();
    await proxy?.close();
  });

  test('called definition loaded before its first task', async () => {
    await runInstance(key, 0);

    const { orchestratorMetrics, predictionMetrics } = runtime.daemon.orchestrator.getMetrics();
    expect(proxy.xmlFetches).toBe(2);
    expect(predictionMetrics.definitionsSeen).toBe(2);
    expect(predictionMetrics.definitionsPreloaded).toBe(1);
    expect(predictionMetrics.definitionLoads).toBe(1);
    // The caller's task had to load its definition; the called process's task found its route ready.
    expect(orchestratorMetrics.prefetchHitRate).toBe(0.5);
    expect(orchestratorMetrics.prefetchesUsed).toBe(2);
  });
});

describe('ServiceOrchestrator.prefetchCommonActivities', () => {
  const key = uniqueProcessKey('Common');
  let orchestrator: ServiceOrchestrator;
  let definitionId: string;

  beforeAll(async () => {
    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: branchingProcess(key) }]);
    definitionId = definition?.id as string;
    orchestrator = new ServiceOrchestrator({
      config: parseConfig(`
engine: { baseUrl: ${url} }
services:
  backend: { baseUrl: 'http://127.0.0.1:9' }
topics:
${topicsOf(key, ['a', 'b', 'c'])}
`, { env: {} }),
    });
  });

  afterAll(async () => {
    await orchestrator?.close();
  });

  test('prepares served activities an instance likely visits', async () => {
    const prepared = await orchestrator.prefetchCommonActivities(definitionId);

    const { cacheMetrics, orchestratorMetrics } = orchestrator.getMetrics();
    // A always, B and C each on half the paths; D's topic is not served.
    expect(prepared).toBe(3);
    expect(cacheMetrics.properties.size).toBe(3);
    expect(cacheMetrics.processXml.fetches).toBe(1);
    expect(orchestratorMetrics.prefetchesUsed + orchestratorMetrics.prefetchesUnused).toBe(0);
    expect(orchestrator.getMetrics().predictionMetrics.pendingPrefetches).toBe(3);
  });

  test('second call prepares nothing new', async () => {
    const prepared = await orchestrator.prefetchCommonActivities(definitionId);

    expect(prepared).toBe(3);
    expect(orchestrator.getMetrics().predictionMetrics.pendingPrefetches).toBe(3);
  });

  test('unknown definition prepares nothing', async () => {
    await expect(orchestrator.prefetchCommonActivities(`${key}:9:missing`)).resolves.toBe(0);
  });
});
