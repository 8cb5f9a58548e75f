import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { countProcessInstances, deployBpmn, listIncidents, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import type { OperatonProcess } from '../../src/demo/operaton.ts';
import { linearProcess } from '../support/bpmn.ts';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.ts';
import { startDaemon } from '../support/daemon.ts';
import { startPrivateEngine, stopPrivateEngines } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

/** How long the engine stays down, and the documented cap of the pause between failed fetches. */
const OUTAGE_MS = 60_000;
const BACKOFF_CAP_MS = 30_000;
/** Slack for one fetch round trip and timer delays on a busy machine. */
const SLACK_MS = 2_000;

describe('engine down for a minute', () => {
  let engine: OperatonProcess;
  let proxy: CountingProxy;
  let service: TestServer;
  let daemon: Daemon | undefined;

  beforeAll(async () => {
    const folder = mkdtempSync(join(tmpdir(), 'router-outage-'));
    engine = await startPrivateEngine({ database: { file: join(folder, 'engine') } });
    proxy = await startCountingProxy(engine.restUrl);
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: { done: true } }));
  });

  afterAll(async () => {
    await daemon?.stop(5_000);
    await proxy.close();
    await service.close();
    await stopPrivateEngines();
  });

  test('daemon backs off with jitter and resumes within the cap', async () => {
    await deployBpmn(engine.restUrl, [{ name: 'outage.bpmn', xml: linearProcess('Outage', [{ id: 'Work', topic: 'outage-work' }]) }]);
    daemon = startDaemon('engine-outage', `
engine:
  baseUrl: ${proxy.url}
  asyncResponseTimeout: 1s
  requestTimeout: 5s
services:
  backend: { baseUrl: '${service.url}' }
topics:
  - { topic: outage-work, service: backend }
`);
    for (let index = 0; index < 3; index += 1) {
      await startProcessInstance(engine.restUrl, 'Outage');
    }
    await waitFor(async () => (await countProcessInstances(engine.restUrl, 'Outage')).finished >= 3, { timeoutMs: 30_000, description: 'the first 3 instances to end' });

    const outageStart = Date.now();
    await engine.stop();
    await sleep(OUTAGE_MS - (Date.now() - outageStart));
    await engine.restart();
    const engineBack = Date.now();
    for (let index = 0; index < 3; index += 1) {
      await startProcessInstance(engine.restUrl, 'Outage');
    }
    await waitFor(async () => (await countProcessInstances(engine.restUrl, 'Outage')).finished >= 6, {
      timeoutMs: BACKOFF_CAP_MS + 30_000,
      intervalMs: 500,
      description: 'the instances started after the outage to end',
    });

    const during = proxy.fetchAndLockTimes.filter((time) => time > outageStart && time <= engineBack);
    const gaps = during.slice(1).map((time, index) => time - (during[index] as number));
    const firstAfter = proxy.fetchAndLockTimes.find((time) => time > engineBack);

    // Doubling from 500 ms up to the cap gives about 8 attempts in 75 s; a loop without backoff would make over 100.
    expect(during.length).toBeGreaterThanOrEqual(4);
    expect(during.length).toBeLessThanOrEqual(20);
    expect(Math.max(...gaps)).toBeGreaterThan(BACKOFF_CAP_MS / 2 - SLACK_MS);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(BACKOFF_CAP_MS + SLACK_MS);
    // Jitter draws each pause between half and all of its backoff, so the pauses are not exact powers of two of 500 ms.
    const exactDoublings = gaps.filter((gap) => [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000].some((step) => Math.abs(gap - step) < 50));
    expect(exactDoublings.length).toBeLessThan(gaps.length);
    expect(firstAfter).toBeDefined();
    expect((firstAfter as number) - engineBack).toBeLessThanOrEqual(BACKOFF_CAP_MS + SLACK_MS);
    expect(await listIncidents(engine.restUrl)).toHaveLength(0);
    expect(daemon.state).toBe('running');
  }, 240_000);
});
