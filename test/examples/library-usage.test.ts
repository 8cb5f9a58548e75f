/**
 * Runs docs/examples/library-usage.ts against the shared engine: real tasks,
 * fetched and locked here as a user's own code would, routed to a real HTTP
 * service by the example's orchestrator.
 */
import { runLibraryUsage, type LibraryUsageResult } from '../../docs/examples/library-usage.ts';
import { parseConfig } from '../../src/config/load.ts';
import { deployBpmn, listExternalTasks, startProcessInstance } from '../../src/demo/engine-rest.ts';
import { Camunda7Adapter } from '../../src/engine/camunda7/adapter.ts';
import type { FetchedTask } from '../../src/engine/types.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const ORDERS = [
  { orderId: 'o-1', sku: 'sku-1' },
  { orderId: 'o-2', sku: 'sku-2' },
  { orderId: 'o-3', sku: 'sold-out' },
  { orderId: 'o-4', sku: 'sku-4' },
];

describe('library usage example', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('LibraryUsage');
  const topic = `${key}-reserve`;
  const workerId = `${key}-own-client`;
  let inventory: TestServer;
  let adapter: Camunda7Adapter;
  let definitionId: string;
  let outcome: LibraryUsageResult;
  const printed: unknown[][] = [];

  beforeAll(async () => {
    inventory = await startTestServer((request, response) => {
      const { variables } = JSON.parse(request.body) as { variables: { orderId: string; sku: string } };
      if (variables.sku === 'sold-out') {
        sendJson(response, 409, { message: `${variables.sku} is out of stock` });
        return;
      }
      sendJson(response, 200, { variables: { reservationId: `r-${variables.orderId}` } });
    });

    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Reserve', topic }]) }]);
    definitionId = definition!.id;
    for (const order of ORDERS) {
      await startProcessInstance(url, key, { businessKey: order.orderId, variables: { ...order, note: 'not sent' } });
    }

    // The user's own code fetches and locks the tasks; the orchestrator never does.
    adapter = new Camunda7Adapter(parseConfig(`engine: { baseUrl: '${url}', workerId: ${workerId} }\ntopics: [{ topic: ${topic} }]\n`, { env: {} }).engine, { connections: 2 });
    const fetched = await adapter.fetchAndLock({ topics: [{ topic, lockDurationMs: 60_000 }], maxTasks: ORDERS.length, longPollMs: 0 });
    const byOrder = new Map<string, FetchedTask>(fetched.map((entry) => [entry.task.businessKey ?? '', entry]));
    const [first, ...rest] = ORDERS.map((order) => byOrder.get(order.orderId) as FetchedTask);

    outcome = await runLibraryUsage({
      engineUrl: url,
      inventoryUrl: inventory.url,
      topic,
      task: first!.task,
      variables: first!.variables,
      tasks: rest.map((entry) => entry.task),
      variablesList: rest.map((entry) => entry.variables),
      definitionId,
    }, (...values) => printed.push(values));
  });

  afterAll(async () => {
    await adapter?.close();
    await inventory?.close();
  });

  test('routeTask completes with result variables', () => {
    expect(outcome.result).toMatchObject({ kind: 'complete', variables: { reservationId: 'r-o-1' } });
  });

  test('routeBatchTasks keeps input order', () => {
    expect(outcome.results.map((result) => result.kind)).toEqual(['complete', 'bpmnError', 'complete']);
    expect(outcome.results[0]).toMatchObject({ variables: { reservationId: 'r-o-2' } });
    expect(outcome.results[1]).toMatchObject({ errorCode: 'OUT_OF_STOCK', message: 'sold-out is out of stock' });
    expect(outcome.results[2]).toMatchObject({ variables: { reservationId: 'r-o-4' } });
  });

  test('service receives only the listed variables', () => {
    const sent = inventory.requests.map((request) => (JSON.parse(request.body) as { variables: Record<string, unknown> }).variables);
    expect(sent).toHaveLength(4);
    expect(sent.map((variables) => variables.orderId).sort()).toEqual(['o-1', 'o-2', 'o-3', 'o-4']);
    for (const variables of sent) {
      expect(Object.keys(variables).sort()).toEqual(['orderId', 'sku']);
    }
  });

  test('prefetch hits the definition cache', () => {
    expect(outcome.prefetched).toBe(true);
    // The first task fetched the definition (a miss); the batch read only the properties cache; the prefetch found it (a hit).
    expect(printed).toEqual([[1, 1]]);
    expect(outcome.metrics.cacheMetrics.processXml).toMatchObject({ hits: 1, misses: 1, fetches: 1, failures: 0 });
    expect(outcome.metrics.cacheMetrics.properties).toMatchObject({ hits: 3, misses: 1 });
    expect(outcome.metrics.cacheMetrics.docs).toMatchObject({ hits: 0, misses: 0 });
  });

  test('metrics count tasks, workflows and calls', () => {
    const metrics = outcome.metrics.orchestratorMetrics;
    expect(metrics.tasksProcessed).toBe(4);
    expect(metrics.workflowsProcessed).toBe(4);
    expect(metrics.tasksByOutcome).toEqual({ complete: 3, bpmnError: 1, failure: 0 });
    expect(metrics.apiCalls).toEqual({ 'service:inventory': 4 });
    expect(metrics.apiCallsByResult).toEqual({ 'service:inventory:200': 3, 'service:inventory:409': 1 });
    expect(metrics.cacheHitRates.properties).toBeCloseTo(0.75);
    expect(metrics.cacheHitRates.processXml).toBeCloseTo(0.5);
    expect(metrics.avgOperationTimes.dispatch).toBeGreaterThan(0);
    expect(metrics.avgOperationTimes.parse).toBeGreaterThan(0);
  });

  test('nothing expired yet', () => {
    expect(outcome.expired).toEqual({ xml: 0, properties: 0, docs: 0 });
  });

  test('engine tasks stay locked by their owner', async () => {
    const tasks = await listExternalTasks(url, { processDefinitionKey: key });

    expect(tasks).toHaveLength(ORDERS.length);
    for (const task of tasks) {
      expect(task.workerId).toBe(workerId);
      expect(task.lockExpirationTime).not.toBeNull();
      expect(task.errorMessage).toBeNull();
    }
  });
});
