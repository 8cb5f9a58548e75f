import { join, resolve } from 'node:path';

import { loadConfigFile } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { countProcessInstances, deployBpmn, listIncidents, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { exampleOrder, startExampleService, type ExampleService } from '../../src/demo/example-service.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { engineGet, externalTaskLog } from '../support/daemon.ts';
import { engineUrl } from '../support/engine.ts';
import { createWriteStream, mkdirSync } from 'node:fs';

const INSTANCES = 100;
const examples = resolve('config/examples');

interface HistoricInstance {
  id: string;
  businessKey: string;
  state: string;
}

interface HistoricActivity {
  activityId: string;
  activityType: string;
  processInstanceId: string;
  canceled: boolean;
  endTime: string | null;
}

describe('example order flow', () => {
  const url = engineUrl();
  let service: ExampleService;
  let daemon: Daemon;

  beforeAll(async () => {
    service = await startExampleService();
    await deployBpmn(url, [join(examples, 'order-process.bpmn'), join(examples, 'ship-order.bpmn')]);
    const config = loadConfigFile(join(examples, 'order-flow.yaml'), { ENGINE_URL: url, SERVICE_URL: service.url });
    mkdirSync('.tmp/test-logs', { recursive: true });
    daemon = new Daemon({ config, logger: createLogger({ level: 'debug', destination: createWriteStream('.tmp/test-logs/example-flow.log') }) });
    daemon.start();
  });

  afterAll(async () => {
    await daemon.stop(5_000);
    await service.stop();
  });

  test(`${INSTANCES} instances end with each service task completed once`, async () => {
    const before = await countProcessInstances(url, 'order-process');
    const orders = Array.from({ length: INSTANCES }, (_, index) => exampleOrder(index));
    for (const order of orders) {
      await startProcessInstance(url, 'order-process', { businessKey: order.businessKey, variables: order.variables });
    }

    await waitFor(async () => (await countProcessInstances(url, 'order-process')).finished - before.finished >= INSTANCES, {
      timeoutMs: 240_000,
      intervalMs: 500,
      description: `${INSTANCES} finished order-process instances`,
    });

    const instances = await engineGet<HistoricInstance[]>(url, '/history/process-instance?processDefinitionKey=order-process&maxResults=100000');
    const ours = instances.filter((instance) => orders.some((order) => order.businessKey === instance.businessKey));
    expect(ours).toHaveLength(INSTANCES);
    expect(ours.every((instance) => instance.state === 'COMPLETED')).toBe(true);

    // Every external task of both processes was reported exactly once: completed, or ended by a BPMN error.
    const log = [...await externalTaskLog(url, 'order-process'), ...await externalTaskLog(url, 'ship-order')];
    const created = log.filter((entry) => entry.creationLog);
    const closed = new Map<string, number>();
    for (const entry of log.filter((item) => item.successLog || item.deletionLog)) {
      closed.set(entry.externalTaskId, (closed.get(entry.externalTaskId) ?? 0) + 1);
    }
    expect(created.length).toBeGreaterThanOrEqual(INSTANCES * 6);
    expect(created.every((entry) => closed.get(entry.externalTaskId) === 1)).toBe(true);
    expect(log.filter((entry) => entry.failureLog)).toHaveLength(0);
    expect(await listIncidents(url, { processDefinitionKey: 'order-process' })).toHaveLength(0);
  });

  test('each instance reaches its expected end event', async () => {
    const activities = await engineGet<HistoricActivity[]>(url, '/history/activity-instance?processDefinitionKey=order-process&activityType=noneEndEvent&maxResults=100000');
    const instances = await engineGet<HistoricInstance[]>(url, '/history/process-instance?processDefinitionKey=order-process&maxResults=100000');
    const endById = new Map(activities.map((activity) => [activity.processInstanceId, activity.activityId]));

    for (let index = 0; index < INSTANCES; index += 1) {
      const order = exampleOrder(index);
      const instance = instances.find((candidate) => candidate.businessKey === order.businessKey);
      expect(instance).toBeDefined();
      expect(endById.get(instance?.id ?? '')).toBe(order.expectedEndEvent);
    }
  });

  test('service saw no duplicate deliveries', () => {
    expect(service.stats().duplicateRequests).toBe(0);
  });

  test('definitions are fetched once per definition', () => {
    const { cacheMetrics, predictionMetrics } = daemon.orchestrator.getMetrics();
    const { processXml, properties } = cacheMetrics;
    expect(processXml.fetches).toBe(2);
    // Routing and prefetching read the properties cache; the definition is read only on its misses, once per
    // activity, and when prediction loads a definition ahead of its tasks (here the called ship-order process).
    expect(predictionMetrics.definitionLoads).toBe(1);
    expect(processXml.hits + processXml.misses).toBe(properties.misses + predictionMetrics.definitionLoads);
    expect(properties.hits).toBeGreaterThan(INSTANCES * 5);
  });
});
