import type { Daemon } from '../../src/daemon/daemon.ts';
import { countProcessInstances, deployBpmn, listExternalTasks, listIncidents, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

describe('daemon capacity and priority', () => {
  const url = engineUrl();
  let service: TestServer;
  let running = 0;
  let peak = 0;
  let releaseGate: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  const seenPriorities: number[] = [];
  let daemon: Daemon | undefined;

  beforeAll(async () => {
    service = await startTestServer(async (request, response) => {
      running += 1;
      peak = Math.max(peak, running);
      const body = JSON.parse(request.body) as { variables: { priority?: number } };
      if (body.variables.priority !== undefined) {
        seenPriorities.push(body.variables.priority);
      }
      if (request.url === '/gated') {
        await gate;
      }
      running -= 1;
      sendJson(response, 200, {});
    });
  });

  afterEach(async () => {
    releaseGate();
    await daemon?.stop(5_000);
    daemon = undefined;
  });

  afterAll(async () => {
    await service.close();
  });

  function configFor(key: string, path: string, maxConcurrent: number): string {
    return `
engine: { baseUrl: ${url}, workerId: ${key}-worker, maxTasks: 10, asyncResponseTimeout: 1s }
services:
  backend: { baseUrl: '${service.url}', maxConcurrent: ${maxConcurrent} }
topics:
  - { topic: ${key}, service: backend, path: ${path} }
`;
  }

  test('high-priority tasks start first under a backlog', async () => {
    const key = uniqueProcessKey('Priority');
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key, priority: '${priority}' }]) }]);
    for (let index = 0; index < 6; index += 1) {
      await startProcessInstance(url, key, { variables: { priority: 1 } });
      await startProcessInstance(url, key, { variables: { priority: 10 } });
    }
    seenPriorities.length = 0;

    daemon = startDaemon(key, configFor(key, '/work', 1));
    await waitFor(async () => (await countProcessInstances(url, key)).finished === 12, { timeoutMs: 60_000, description: '12 finished instances' });

    expect(seenPriorities).toEqual([10, 10, 10, 10, 10, 10, 1, 1, 1, 1, 1, 1]);
  });

  test('fetching stops while the queue is full and resumes when it drains', async () => {
    const key = uniqueProcessKey('Capacity');
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key }]) }]);
    for (let index = 0; index < 6; index += 1) {
      await startProcessInstance(url, key);
    }
    gate = new Promise((resolve) => {
      releaseGate = resolve;
    });
    peak = 0;

    daemon = startDaemon(key, configFor(key, '/gated', 2));
    const started = daemon;
    await waitFor(() => started.tasksInFlight === 2 && started.fetchStates().backend === 'waiting-for-capacity', {
      timeoutMs: 30_000,
      description: 'two tasks in flight and the fetch loop waiting for capacity',
    });

    const tasks = await listExternalTasks(url, { processDefinitionKey: key });
    expect(tasks.filter((task) => task.workerId === `${key}-worker`)).toHaveLength(2);
    expect(tasks.filter((task) => task.workerId === null)).toHaveLength(4);
    expect(started.orchestrator.getMetrics().orchestratorMetrics.fetchPauses).toBeGreaterThanOrEqual(1);

    releaseGate();
    await waitFor(async () => (await countProcessInstances(url, key)).finished === 6, { timeoutMs: 60_000, description: '6 finished instances' });

    expect(peak).toBeLessThanOrEqual(2);
    expect(started.orchestrator.getMetrics().orchestratorMetrics.tasksProcessed).toBe(6);
    expect(await listIncidents(url, { processDefinitionKey: key })).toHaveLength(0);
  });
});
