import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { request } from 'undici';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { deployBpmn, listExternalTasks, listIncidents, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineGet, externalTaskLog, startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const LOCK_MS = 2_000;

/** Sends a JSON POST to the engine REST API and returns the status and parsed body. */
async function enginePost(baseUrl: string, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await request(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: text === '' ? undefined : JSON.parse(text) };
}

describe('lock extension', () => {
  const url = engineUrl();
  let service: TestServer;
  const daemons: Daemon[] = [];
  let releaseStuck: () => void = () => {};

  beforeAll(async () => {
    const stuck = new Promise<void>((resolve) => {
      releaseStuck = resolve;
    });
    service = await startTestServer(async (request, response) => {
      if (request.url === '/slow') {
        await new Promise((resolve) => setTimeout(resolve, 3 * LOCK_MS + 500));
      } else if (request.url === '/stuck') {
        await stuck;
      }
      sendJson(response, 200, { variables: { served: request.url } });
    });
  });

  afterAll(async () => {
    releaseStuck();
    await Promise.all(daemons.map((daemon) => daemon.stop(5_000)));
    await service.close();
  });

  function configFor(key: string, worker: string, path: string): string {
    return `
engine: { baseUrl: ${url}, workerId: ${worker}, asyncResponseTimeout: 1s, lockDuration: ${LOCK_MS}, extendLockAt: 0.5 }
services:
  backend: { baseUrl: '${service.url}', timeout: 1m, maxConcurrent: 1 }
topics:
  - { topic: ${key}, service: backend, path: ${path} }
`;
  }

  test('call of three lock durations completes once', async () => {
    const key = uniqueProcessKey('LongCall');
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Slow', topic: key }]) }]);
    const instance = await startProcessInstance(url, key);
    // Two workers on the same topic: had a lock run out, the other one would take the task and call the service again.
    const first = startDaemon(`${key}-a`, configFor(key, `${key}-a`, '/slow'));
    const second = startDaemon(`${key}-b`, configFor(key, `${key}-b`, '/slow'));
    daemons.push(first, second);

    const finished = await waitFor(async () => {
      const history = await engineGet<{ state: string }>(url, `/history/process-instance/${instance.id}`);
      return history.state === 'COMPLETED' ? history : undefined;
    }, { timeoutMs: 60_000, description: 'the instance to complete' });

    const log = await externalTaskLog(url, key);
    const metrics = [first, second].map((daemon) => daemon.orchestrator.getMetrics().orchestratorMetrics);
    expect(finished.state).toBe('COMPLETED');
    expect(service.requests.filter((entry) => entry.url === '/slow')).toHaveLength(1);
    expect(log.filter((entry) => entry.successLog)).toHaveLength(1);
    expect(log.filter((entry) => entry.failureLog)).toHaveLength(0);
    expect(metrics[0]!.lockExtensions + metrics[1]!.lockExtensions).toBeGreaterThanOrEqual(1);
    expect(metrics[0]!.lateResultsDropped + metrics[1]!.lateResultsDropped).toBe(0);
  });

  test('slow handler keeps its lock too', async () => {
    const key = uniqueProcessKey('LongHandler');
    const folder = mkdtempSync(join(tmpdir(), 'router-slow-handler-'));
    const module = join(folder, 'slow.mjs');
    const calls = join(folder, 'calls.txt');
    writeFileSync(calls, '');
    writeFileSync(module, `import { appendFileSync } from 'node:fs';
export default async (task) => {
  appendFileSync(${JSON.stringify(calls)}, task.id + '\\n');
  await new Promise((resolve) => setTimeout(resolve, ${3 * LOCK_MS + 500}));
  return { outcome: 'complete', variables: { handled: true } };
};
`);
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Slow', topic: key }]) }]);
    const instance = await startProcessInstance(url, key);
    const handlerConfig = (worker: string) => `
engine: { baseUrl: ${url}, workerId: ${worker}, asyncResponseTimeout: 1s, lockDuration: ${LOCK_MS}, extendLockAt: 0.5 }
topics:
  - { topic: ${key}, handler: '${module}' }
`;
    // As above, a second worker would run the handler again if the first one's lock ran out.
    const first = startDaemon(`${key}-a`, handlerConfig(`${key}-a`));
    const second = startDaemon(`${key}-b`, handlerConfig(`${key}-b`));
    daemons.push(first, second);

    await waitFor(async () => {
      const history = await engineGet<{ state: string }>(url, `/history/process-instance/${instance.id}`);
      return history.state === 'COMPLETED';
    }, { timeoutMs: 60_000, description: 'the instance to complete' });

    const log = await externalTaskLog(url, key);
    expect(log.filter((entry) => entry.successLog)).toHaveLength(1);
    const extensions = [first, second].map((daemon) => daemon.orchestrator.getMetrics().orchestratorMetrics.lockExtensions);
    expect(log.filter((entry) => entry.failureLog)).toHaveLength(0);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(extensions[0]! + extensions[1]!).toBeGreaterThanOrEqual(1);
  });

  test('result of a task completed elsewhere is dropped', async () => {
    const key = uniqueProcessKey('Gone');
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Stuck', topic: key }]) }]);
    const instance = await startProcessInstance(url, key);
    const daemon = startDaemon(key, configFor(key, `${key}-worker`, '/stuck'));
    daemons.push(daemon);
    // With its one slot taken, the daemon has no fetch out that could take the task back after the unlock below.
    await waitFor(() => daemon.tasksInFlight === 1 && daemon.fetchStates().backend === 'waiting-for-capacity', {
      timeoutMs: 30_000,
      description: 'the task in flight and fetching paused',
    });

    // Another worker takes the task over and completes it while the daemon's call still runs.
    const [task] = await listExternalTasks(url, { processDefinitionKey: key });
    expect((await enginePost(url, `/external-task/${task!.id}/unlock`, {})).status).toBe(204);
    const locked = await enginePost(url, '/external-task/fetchAndLock', { workerId: 'other-worker', maxTasks: 1, topics: [{ topicName: key, lockDuration: 60_000 }] });
    expect(locked.body).toHaveLength(1);
    expect((await enginePost(url, `/external-task/${task!.id}/complete`, { workerId: 'other-worker' })).status).toBe(204);

    await waitFor(() => daemon.orchestrator.getMetrics().orchestratorMetrics.lockExtensionFailures >= 1, {
      timeoutMs: 30_000,
      description: 'a rejected lock extension',
    });
    releaseStuck();
    await waitFor(() => daemon.tasksInFlight === 0, { timeoutMs: 30_000, description: 'the daemon to finish the task' });

    const history = await engineGet<{ state: string }>(url, `/history/process-instance/${instance.id}`);
    expect(history.state).toBe('COMPLETED');
    expect(daemon.orchestrator.getMetrics().orchestratorMetrics.lateResultsDropped).toBe(1);
    expect(await listIncidents(url, { processDefinitionKey: key })).toHaveLength(0);
    expect((await externalTaskLog(url, key)).filter((entry) => entry.failureLog)).toHaveLength(0);
  });
});
