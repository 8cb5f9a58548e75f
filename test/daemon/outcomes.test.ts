import type { Daemon } from '../../src/daemon/daemon.ts';
import { deployBpmn, listIncidents, startProcessInstance, waitFor, type Incident } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineGet, externalTaskLog, startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

interface HistoricInstance {
  id: string;
  state: string;
  endTime: string | null;
}

interface HistoricActivity {
  activityId: string;
  endTime: string | null;
}

interface HistoricVariable {
  name: string;
  value: unknown;
}

describe('daemon outcomes on a real engine', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Outcomes');
  const topic = (name: string) => `${key}-${name}`;
  let service: TestServer;
  let daemon: Daemon;

  beforeAll(async () => {
    service = await startTestServer((request, response) => {
      if (request.url === '/reject') {
        sendJson(response, 422, { message: 'order is missing an address', variables: { rejectionReason: 'no-address' } });
      } else if (request.url === '/broken') {
        sendJson(response, 500, { message: 'database down' });
      } else {
        sendJson(response, 200, { variables: { handledBy: request.url } });
      }
    });

    await deployBpmn(url, [
      { name: `${key}-reject.bpmn`, xml: linearProcess(`${key}_reject`, [{ id: 'Check', topic: topic('check'), catchErrorCode: 'REJECTED' }]) },
      { name: `${key}-broken.bpmn`, xml: linearProcess(`${key}_broken`, [{ id: 'Call', topic: topic('broken') }]) },
      {
        name: `${key}-ghost.bpmn`,
        xml: linearProcess(`${key}_ghost`, [{ id: 'Haunted', topic: topic('plain'), properties: { service: 'ghost' } }]),
      },
      { name: `${key}-plain.bpmn`, xml: linearProcess(`${key}_plain`, [{ id: 'First', topic: topic('plain') }, { id: 'Second', topic: topic('plain'), properties: { path: '/second' } }]) },
    ]);

    daemon = startDaemon(key, `
engine:
  baseUrl: ${url}
  maxTasks: 10
  asyncResponseTimeout: 2s
  failure: { retries: 3, retryTimeout: 100ms }
services:
  backend: { baseUrl: '${service.url}', timeout: 2s }
topics:
  - topic: ${topic('check')}
    service: backend
    path: /reject
    errors: { 422: REJECTED }
  - topic: ${topic('broken')}
    service: backend
    path: /broken
  - topic: ${topic('plain')}
    service: backend
    path: /first
`);
  });

  afterAll(async () => {
    await daemon.stop(5_000);
    await service.close();
  });

  async function finishedInstance(id: string): Promise<HistoricInstance> {
    return waitFor(async () => {
      const instance = await engineGet<HistoricInstance>(url, `/history/process-instance/${id}`);
      return instance.endTime !== null ? instance : undefined;
    }, { timeoutMs: 30_000, description: `instance ${id} to end` });
  }

  async function incidentOf(processInstanceId: string): Promise<Incident> {
    const [incident] = await waitFor(
      async () => {
        const incidents = await listIncidents(url, { processInstanceId });
        return incidents.length > 0 ? incidents : undefined;
      },
      { timeoutMs: 30_000, description: `an incident on ${processInstanceId}` },
    );
    return incident as Incident;
  }

  test('2xx completes each task once with its variables', async () => {
    const instance = await startProcessInstance(url, `${key}_plain`);
    await finishedInstance(instance.id);

    const log = await externalTaskLog(url, `${key}_plain`);
    const successes = log.filter((entry) => entry.processInstanceId === instance.id && entry.successLog);
    const variables = await engineGet<HistoricVariable[]>(url, `/history/variable-instance?processInstanceId=${instance.id}`);
    expect(successes.map((entry) => entry.activityId).sort()).toEqual(['First', 'Second']);
    expect(variables.find((variable) => variable.name === 'handledBy')?.value).toBe('/second');
  });

  test('mapped 4xx reaches the error boundary with variables', async () => {
    const instance = await startProcessInstance(url, `${key}_reject`);
    await finishedInstance(instance.id);

    const activities = await engineGet<HistoricActivity[]>(url, `/history/activity-instance?processInstanceId=${instance.id}`);
    const variables = await engineGet<HistoricVariable[]>(url, `/history/variable-instance?processInstanceId=${instance.id}`);
    expect(activities.map((activity) => activity.activityId)).toContain('Check_Caught');
    expect(activities.map((activity) => activity.activityId)).not.toContain('End');
    expect(variables.find((variable) => variable.name === 'rejectionReason')?.value).toBe('no-address');
  });

  test('failing service counts retries down to an incident', async () => {
    const instance = await startProcessInstance(url, `${key}_broken`);
    const incident = await incidentOf(instance.id);

    const failures = (await externalTaskLog(url, `${key}_broken`))
      .filter((entry) => entry.processInstanceId === instance.id && entry.failureLog);
    expect(incident.incidentType).toBe('failedExternalTask');
    expect(incident.incidentMessage).toContain('POST backend/broken returned HTTP 500: database down');
    // Each log entry records the retries the task had when it failed: none set yet, then 2, then 1; the third failure leaves 0.
    expect(failures.map((entry) => entry.retries)).toEqual([null, 2, 1]);
  });

  test('undeclared service raises an incident naming it', async () => {
    const instance = await startProcessInstance(url, `${key}_ghost`);
    const incident = await incidentOf(instance.id);

    expect(incident.incidentMessage).toContain('service "ghost"');
    expect(incident.incidentMessage).toContain('not declared');
    const failures = (await externalTaskLog(url, `${key}_ghost`)).filter((entry) => entry.failureLog);
    expect(failures).toHaveLength(1);
  });

  test('daemon keeps running after an incident', async () => {
    const ghost = await startProcessInstance(url, `${key}_ghost`);
    await incidentOf(ghost.id);
    const instance = await startProcessInstance(url, `${key}_plain`);

    await expect(finishedInstance(instance.id)).resolves.toMatchObject({ state: 'COMPLETED' });
    expect(daemon.state).toBe('running');
  });
});
