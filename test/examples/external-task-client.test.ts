/**
 * Runs docs/examples/external-task-client.ts against the shared engine:
 * camunda-external-task-client-js fetches, locks and reports the tasks, and
 * calls routeTask in its handler to reach a real HTTP service.
 */
import { startInventoryWorker, type InventoryWorker } from '../../docs/examples/external-task-client.ts';
import { deployBpmn, listExternalTasks, listIncidents, startProcessInstance, waitFor, type Incident } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineGet, externalTaskLog } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

interface HistoricInstance {
  endTime: string | null;
}

interface HistoricActivity {
  activityId: string;
}

interface HistoricVariable {
  name: string;
  value: unknown;
}

describe('external task client example', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('ClientWorker');
  const topic = `${key}-reserve`;
  let inventory: TestServer;
  let worker: InventoryWorker | undefined;

  beforeAll(async () => {
    inventory = await startTestServer((request, response) => {
      const { variables } = JSON.parse(request.body) as { variables: { orderId: string; sku: string } };
      if (variables.sku === 'sold-out') {
        sendJson(response, 409, { message: 'out of stock', variables: { shortage: variables.sku } });
      } else if (variables.sku === 'broken') {
        sendJson(response, 500, { message: 'stock database down' });
      } else {
        sendJson(response, 200, { variables: { reservationId: `r-${variables.orderId}` } });
      }
    });
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Reserve', topic, catchErrorCode: 'OUT_OF_STOCK' }]) }]);
    worker = startInventoryWorker({ engineUrl: url, inventoryUrl: inventory.url, topic });
  });

  afterAll(async () => {
    await worker?.stop();
    await inventory?.close();
  });

  async function ended(processInstanceId: string): Promise<void> {
    await waitFor(async () => {
      const instance = await engineGet<HistoricInstance>(url, `/history/process-instance/${processInstanceId}`);
      return instance.endTime !== null;
    }, { timeoutMs: 30_000, description: `instance ${processInstanceId} to end` });
  }

  async function variablesOf(processInstanceId: string): Promise<Record<string, unknown>> {
    const variables = await engineGet<HistoricVariable[]>(url, `/history/variable-instance?processInstanceId=${processInstanceId}`);
    return Object.fromEntries(variables.map((variable) => [variable.name, variable.value]));
  }

  test('2xx completes the task with result variables', async () => {
    const instance = await startProcessInstance(url, key, { variables: { orderId: 'o-1', sku: 'sku-1' } });
    await ended(instance.id);

    expect(await variablesOf(instance.id)).toMatchObject({ reservationId: 'r-o-1' });
  });

  test('mapped status raises the BPMN error', async () => {
    const instance = await startProcessInstance(url, key, { variables: { orderId: 'o-2', sku: 'sold-out' } });
    await ended(instance.id);

    const activities = await engineGet<HistoricActivity[]>(url, `/history/activity-instance?processInstanceId=${instance.id}`);
    expect(activities.map((activity) => activity.activityId)).toContain('Reserve_Caught');
    expect(activities.map((activity) => activity.activityId)).not.toContain('End');
    expect(await variablesOf(instance.id)).toMatchObject({ shortage: 'sold-out' });
  });

  test('failure counts retries down to an incident', async () => {
    const instance = await startProcessInstance(url, key, { variables: { orderId: 'o-3', sku: 'broken' } });
    const [incident] = await waitFor(async () => {
      const incidents = await listIncidents(url, { processInstanceId: instance.id });
      return incidents.length > 0 ? incidents : undefined;
    }, { timeoutMs: 30_000, description: `an incident on ${instance.id}` });

    expect((incident as Incident).incidentMessage).toBe('POST inventory/reserve returned HTTP 500: stock database down');
    const failures = (await externalTaskLog(url, key)).filter((entry) => entry.processInstanceId === instance.id && entry.failureLog);
    // Each entry records the retries the task had when it failed: none set yet, then 2, then 1; the third failure leaves 0.
    expect(failures.map((entry) => entry.retries)).toEqual([null, 2, 1]);
  });

  test('stop reports fetched tasks first', async () => {
    const instance = await startProcessInstance(url, key, { variables: { orderId: 'o-4', sku: 'sku-4' } });
    await worker?.stop();
    worker = undefined;

    // Either the worker fetched the task and completed it before stop() resolved, or it never fetched it.
    const tasks = await listExternalTasks(url, { processInstanceId: instance.id });
    for (const task of tasks) {
      expect(task.lockExpirationTime).toBeNull();
    }
  });
});
