import type { Daemon } from '../../src/daemon/daemon.ts';
import { deployBpmn, listIncidents, startProcessInstance, waitFor, type ProcessInstance } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineGet, startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

interface BatchItem {
  id: string;
  idempotencyKey: string;
  path: string;
  variables: { verdict?: string };
}

interface HistoricActivity {
  activityId: string;
}

interface HistoricVariable {
  name: string;
  value: unknown;
}

const VERDICTS = ['ok', 'reject', 'broken', 'busy'] as const;

describe('batch dispatch on a real engine', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Batch');
  let service: TestServer;
  let daemon: Daemon;
  const itemsPerRequest: number[] = [];
  const busySeen = new Set<string>();

  beforeAll(async () => {
    service = await startTestServer((request, response) => {
      const { items } = JSON.parse(request.body) as { items: BatchItem[] };
      itemsPerRequest.push(items.length);
      const results = items.map((item) => {
        switch (item.variables.verdict) {
          case 'reject':
            return { id: item.id, status: 409, body: { message: 'order rejected', variables: { rejectedBy: 'batch' } } };
          case 'broken':
            return { id: item.id, status: 500, body: { message: 'item exploded' } };
          case 'busy':
            // The first attempt is transient; the daemon retries the item alone and it succeeds.
            if (!busySeen.has(item.idempotencyKey)) {
              busySeen.add(item.idempotencyKey);
              return { id: item.id, status: 503, body: { message: 'try again' } };
            }
            return { id: item.id, status: 200, body: { variables: { handled: 'after retry' } } };
          default:
            return { id: item.id, status: 200, body: { variables: { handled: 'first time' } } };
        }
      });
      sendJson(response, 200, { results });
    });

    await deployBpmn(url, [{
      name: `${key}.bpmn`,
      xml: linearProcess(key, [{ id: 'Check', topic: key, catchErrorCode: 'REJECTED' }]),
    }]);
  });

  afterAll(async () => {
    await daemon?.stop(5_000);
    await service.close();
  });

  test('mixed item outcomes each reach their own task', async () => {
    const instances = new Map<string, ProcessInstance[]>();
    for (const verdict of VERDICTS) {
      instances.set(verdict, [
        await startProcessInstance(url, key, { variables: { verdict } }),
        await startProcessInstance(url, key, { variables: { verdict } }),
      ]);
    }
    daemon = startDaemon(key, `
engine: { baseUrl: ${url}, asyncResponseTimeout: 1s, failure: { retries: 1 } }
dispatch:
  retry: { maxAttempts: 3, initialDelay: 20ms }
services:
  checker:
    baseUrl: '${service.url}'
    maxConcurrent: 1
    breaker: { failureThreshold: 100 }
    batch: { path: /batch, maxSize: 20, maxWait: 200ms }
topics:
  - topic: ${key}
    service: checker
    path: /check
    errors: { 409: REJECTED }
`);

    const ended = async (instance: ProcessInstance) => (await engineGet<{ state: string }>(url, `/history/process-instance/${instance.id}`)).state;
    for (const verdict of ['ok', 'reject', 'busy']) {
      for (const instance of instances.get(verdict) ?? []) {
        await waitFor(async () => (await ended(instance)) === 'COMPLETED', { timeoutMs: 30_000, description: `the ${verdict} instance to complete` });
      }
    }
    for (const instance of instances.get('broken') ?? []) {
      await waitFor(async () => (await listIncidents(url, { processInstanceId: instance.id })).length === 1, {
        timeoutMs: 30_000,
        description: 'an incident on the broken instance',
      });
    }

    for (const instance of instances.get('ok') ?? []) {
      const variables = await engineGet<HistoricVariable[]>(url, `/history/variable-instance?processInstanceId=${instance.id}`);
      expect(variables.find((variable) => variable.name === 'handled')?.value).toBe('first time');
    }
    for (const instance of instances.get('busy') ?? []) {
      const variables = await engineGet<HistoricVariable[]>(url, `/history/variable-instance?processInstanceId=${instance.id}`);
      expect(variables.find((variable) => variable.name === 'handled')?.value).toBe('after retry');
    }
    for (const instance of instances.get('reject') ?? []) {
      const activities = await engineGet<HistoricActivity[]>(url, `/history/activity-instance?processInstanceId=${instance.id}`);
      const variables = await engineGet<HistoricVariable[]>(url, `/history/variable-instance?processInstanceId=${instance.id}`);
      expect(activities.map((activity) => activity.activityId)).toContain('Check_Caught');
      expect(variables.find((variable) => variable.name === 'rejectedBy')?.value).toBe('batch');
    }
    for (const instance of instances.get('broken') ?? []) {
      const [incident] = await listIncidents(url, { processInstanceId: instance.id });
      expect(incident?.incidentMessage).toContain('POST checker/check returned HTTP 500: item exploded');
    }

    expect(service.requests.every((request) => request.url === '/batch')).toBe(true);
    expect(Math.max(...itemsPerRequest)).toBeGreaterThan(1);
    expect(itemsPerRequest.reduce((sum, count) => sum + count, 0)).toBe(10);
    expect(daemon.orchestrator.getMetrics().orchestratorMetrics.batchedTasks).toBe(10);
  });
});
