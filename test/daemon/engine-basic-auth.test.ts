/**
 * The daemon against the bundled engine with HTTP basic auth on: with the
 * password from the environment it serves the engine's tasks, and with
 * wrong credentials it keeps running and locks nothing.
 */
import type { Daemon } from '../../src/daemon/daemon.ts';
import { countProcessInstances, deployBpmn, listExternalTasks, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import type { OperatonProcess } from '../../src/demo/operaton.ts';
import { linearProcess } from '../support/bpmn.ts';
import { startDaemon } from '../support/daemon.ts';
import { startPrivateEngine, stopPrivateEngines, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const CREDENTIALS = { username: 'router', password: 'basic-auth-canary-5d1e' };

describe('engine behind basic auth', () => {
  const key = uniqueProcessKey('BasicAuth');
  let engine: OperatonProcess;
  let service: TestServer;
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    engine = await startPrivateEngine({ basicAuth: CREDENTIALS });
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: { done: true } }));
    await deployBpmn(engine.restUrl, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key }]) }], engine.credentials());
  });

  afterAll(async () => {
    await Promise.all(daemons.map((daemon) => daemon.stop(5_000)));
    await service.close();
    await stopPrivateEngines();
  });

  function daemonWith(name: string, username: string, password: string): Daemon {
    const daemon = startDaemon(name, `
engine:
  baseUrl: ${engine.restUrl}
  asyncResponseTimeout: 1s
  auth: { type: basic, username: ${username}, password: '\${ENGINE_PASSWORD}' }
services:
  backend: { baseUrl: '${service.url}' }
topics:
  - { topic: ${key}, service: backend }
`, { ENGINE_PASSWORD: password });
    daemons.push(daemon);
    return daemon;
  }

  // Another user name: failed logins lock the engine's user out for a while, which would fail the next test.
  test('wrong credentials lock nothing', async () => {
    const daemon = daemonWith('wrong-credentials', 'intruder', 'not-the-password');
    await startProcessInstance(engine.restUrl, key, engine.credentials());
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const tasks = await listExternalTasks(engine.restUrl, { topicName: key }, engine.credentials());
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.workerId ?? null).toBeNull();
    expect(daemon.orchestrator.getMetrics().orchestratorMetrics.tasksProcessed).toBe(0);
    await daemon.stop(5_000);
  });

  test('right password serves the task', async () => {
    daemonWith('right-password', CREDENTIALS.username, CREDENTIALS.password);

    await waitFor(async () => (await countProcessInstances(engine.restUrl, key, engine.credentials())).finished === 1, {
      timeoutMs: 30_000,
      description: 'the instance to finish',
    });
    expect(service.requests).toHaveLength(1);
  });
});
