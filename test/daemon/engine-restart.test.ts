import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { countProcessInstances, deployBpmn, listIncidents, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import type { OperatonProcess } from '../../src/demo/operaton.ts';
import { linearProcess } from '../support/bpmn.ts';
import { startDaemon } from '../support/daemon.ts';
import { startPrivateEngine, stopPrivateEngines } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const INSTANCES = 30;

describe('engine restart while the daemon runs', () => {
  let engine: OperatonProcess;
  let service: TestServer;
  let daemon: Daemon | undefined;

  beforeAll(async () => {
    const folder = mkdtempSync(join(tmpdir(), 'router-restart-'));
    engine = await startPrivateEngine({ database: { file: join(folder, 'engine') } });
    service = await startTestServer(async (_request, response) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      sendJson(response, 200, {});
    });
  });

  afterAll(async () => {
    await daemon?.stop(5_000);
    await service.close();
    await stopPrivateEngines();
  });

  test('daemon resumes and finishes the remaining instances', async () => {
    const url = engine.restUrl;
    await deployBpmn(url, [{
      name: 'restart.bpmn',
      xml: linearProcess('Restart', [
        { id: 'StepA', topic: 'restart-a' },
        { id: 'StepB', topic: 'restart-b' },
        { id: 'StepC', topic: 'restart-a' },
      ]),
    }]);
    for (let index = 0; index < INSTANCES; index += 1) {
      await startProcessInstance(url, 'Restart');
    }

    daemon = startDaemon('engine-restart', `
engine:
  baseUrl: ${url}
  maxTasks: 5
  asyncResponseTimeout: 1s
  lockDuration: 10s
services:
  backend: { baseUrl: '${service.url}', maxConcurrent: 2 }
topics:
  - { topic: restart-a, service: backend }
  - { topic: restart-b, service: backend }
`);

    await waitFor(async () => (await countProcessInstances(url, 'Restart')).finished >= 3, {
      timeoutMs: 60_000,
      description: 'the first instances to end',
    });
    await engine.restart();
    const afterRestart = await countProcessInstances(url, 'Restart');

    await waitFor(async () => (await countProcessInstances(url, 'Restart')).finished >= INSTANCES, {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: `${INSTANCES} finished instances after the restart`,
    });
    expect(afterRestart.finished).toBeLessThan(INSTANCES);
    expect(await listIncidents(url)).toHaveLength(0);
    expect(daemon.state).toBe('running');
  });
});
