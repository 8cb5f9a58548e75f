import { deployBpmn, listExternalTasks, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

describe('stop with tasks not yet started', () => {
  const url = engineUrl();
  let service: TestServer;

  beforeAll(async () => {
    service = await startTestServer((_request, response) => {
      sendJson(response, 200, { results: [] });
    });
  });

  afterAll(async () => {
    await service.close();
  });

  test('tasks waiting for their batch are unlocked, not sent', async () => {
    const key = uniqueProcessKey('Unstarted');
    const workerId = `${key}-worker`;
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key }]) }]);
    for (let index = 0; index < 3; index += 1) {
      await startProcessInstance(url, key);
    }
    // The batch waits far longer than the test for more tasks, so the fetched tasks are held but never started.
    const daemon = startDaemon(key, `
engine: { baseUrl: ${url}, workerId: ${workerId}, asyncResponseTimeout: 1s }
services:
  backend:
    baseUrl: '${service.url}'
    batch: { path: /batch, maxSize: 10, maxWait: 10m }
topics:
  - { topic: ${key}, service: backend, path: /work }
`);
    await waitFor(() => daemon.tasksInFlight === 3, { timeoutMs: 30_000, description: '3 tasks held for the batch' });

    await daemon.stop(60_000);

    const tasks = await listExternalTasks(url, { processDefinitionKey: key });
    expect(service.requests).toHaveLength(0);
    expect(tasks).toHaveLength(3);
    expect(tasks.filter((task) => task.workerId !== null || task.lockExpirationTime !== null)).toHaveLength(0);
    expect(daemon.orchestrator.getMetrics().orchestratorMetrics.tasksUnlocked).toBe(3);
    expect(daemon.state).toBe('stopped');
  });
});
