import { deployBpmn, listExternalTasks, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineGet, startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

interface LockedTask {
  id: string;
  workerId: string | null;
  lockExpirationTime: string | null;
}

describe('daemon shutdown', () => {
  const url = engineUrl();
  let service: TestServer;
  let releaseSlow: () => void = () => {};

  beforeAll(async () => {
    const slowGate = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    service = await startTestServer(async (request, response) => {
      if (request.url === '/stuck') {
        await slowGate;
      } else {
        await new Promise((resolve) => setTimeout(resolve, 800));
      }
      sendJson(response, 200, { variables: { done: true } });
    });
  });

  afterAll(async () => {
    releaseSlow();
    await service.close();
  });

  async function deploy(key: string, topic: string): Promise<void> {
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic }]) }]);
  }

  // The service timeout is far above the test timeout, so a stop that waited for a stuck request would fail the test.
  function configFor(topic: string, path: string): string {
    return `
engine: { baseUrl: ${url}, maxTasks: 10, asyncResponseTimeout: 1s, lockDuration: 60s }
services:
  backend: { baseUrl: '${service.url}', timeout: 10m, maxConcurrent: 10 }
topics:
  - { topic: ${topic}, service: backend, path: ${path} }
`;
  }

  test('stop lets tasks in flight finish', async () => {
    const key = uniqueProcessKey('Drain');
    await deploy(key, key);
    const instances = await Promise.all(Array.from({ length: 4 }, () => startProcessInstance(url, key)));
    const daemon = startDaemon(key, configFor(key, '/slow'));

    await waitFor(() => daemon.tasksInFlight === 4, { timeoutMs: 30_000, description: '4 tasks in flight' });
    await daemon.stop(20_000);

    for (const instance of instances) {
      const history = await engineGet<{ state: string }>(url, `/history/process-instance/${instance.id}`);
      expect(history.state).toBe('COMPLETED');
    }
    expect(daemon.state).toBe('stopped');
  });

  test('tasks still running after the grace period are unlocked', async () => {
    const key = uniqueProcessKey('Unlock');
    await deploy(key, key);
    await Promise.all(Array.from({ length: 3 }, () => startProcessInstance(url, key)));
    const daemon = startDaemon(key, configFor(key, '/stuck'));

    await waitFor(() => daemon.tasksInFlight === 3, { timeoutMs: 30_000, description: '3 tasks in flight' });
    await daemon.stop(300);

    const tasks = (await listExternalTasks(url, { processDefinitionKey: key })) as unknown as LockedTask[];
    expect(tasks).toHaveLength(3);
    expect(tasks.every((task) => task.lockExpirationTime === null && task.workerId === null)).toBe(true);
    expect(daemon.state).toBe('stopped');
  });

  test('stop twice waits for the same shutdown', async () => {
    const key = uniqueProcessKey('Twice');
    await deploy(key, key);
    const daemon = startDaemon(key, configFor(key, '/slow'));

    const first = daemon.stop(1_000);
    const second = daemon.stop(1_000);
    await Promise.all([first, second]);

    expect(second).toBe(first);
    expect(daemon.state).toBe('stopped');
  });
});
