import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { countProcessInstances, deployBpmn, listIncidents, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { externalTaskLog, startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

describe('circuit breaker', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Breaker');
  const flakyKey = `${key}_flaky`;
  const steadyKey = `${key}_steady`;
  let service: TestServer;
  let daemon: Daemon;
  let down = true;

  beforeAll(async () => {
    service = await startTestServer((request, response) => {
      if (request.url === '/flaky' && down) {
        sendJson(response, 503, { message: 'maintenance' });
        return;
      }
      sendJson(response, 200, { variables: { servedBy: request.url } });
    });
    await deployBpmn(url, [
      { name: `${flakyKey}.bpmn`, xml: linearProcess(flakyKey, [{ id: 'Flaky', topic: flakyKey }]) },
      { name: `${steadyKey}.bpmn`, xml: linearProcess(steadyKey, [{ id: 'Steady', topic: steadyKey }]) },
    ]);
  });

  afterAll(async () => {
    await daemon?.stop(5_000);
    await service.close();
  });

  test('outage opens the breaker, pauses its topics and ends without incidents', async () => {
    for (let index = 0; index < 5; index += 1) {
      await startProcessInstance(url, flakyKey);
    }
    // One engine retry: any failure reported for the outage would raise an incident at once.
    daemon = startDaemon(key, `
engine: { baseUrl: ${url}, asyncResponseTimeout: 1s, failure: { retries: 1 } }
dispatch:
  retry: { maxAttempts: 4, initialDelay: 20ms, maxDelay: 100ms }
services:
  flaky:
    baseUrl: '${service.url}'
    maxConcurrent: 2
    breaker: { failureThreshold: 3, openDuration: 2s, outageBudget: 5m }
  steady: { baseUrl: '${service.url}' }
topics:
  - { topic: ${flakyKey}, service: flaky, path: /flaky }
  - { topic: ${steadyKey}, service: steady, path: /steady }
`);
    const running = daemon;

    await waitFor(() => running.orchestrator.getMetrics().orchestratorMetrics.breakers.flaky?.state === 'open', {
      timeoutMs: 30_000,
      description: 'the flaky breaker to open',
    });
    await waitFor(() => running.fetchStates().flaky === 'waiting-for-capacity', { timeoutMs: 30_000, description: 'fetching for flaky to pause' });

    // Other services' topics keep flowing while the breaker is open.
    const steady = await Promise.all([1, 2, 3].map(() => startProcessInstance(url, steadyKey)));
    await waitFor(async () => (await countProcessInstances(url, steadyKey)).finished === steady.length, {
      timeoutMs: 30_000,
      description: 'the steady instances to finish',
    });
    expect((await countProcessInstances(url, flakyKey)).finished).toBe(0);

    down = false;
    await waitFor(async () => (await countProcessInstances(url, flakyKey)).finished === 5, {
      timeoutMs: 60_000,
      description: 'the flaky instances to finish after the outage',
    });

    const metrics = running.orchestrator.getMetrics().orchestratorMetrics;
    expect(metrics.breakers.flaky?.state).toBe('closed');
    expect(metrics.breakers.flaky?.opens).toBeGreaterThanOrEqual(1);
    expect(metrics.tasksUnlocked).toBeGreaterThanOrEqual(1);
    expect(await listIncidents(url, { processDefinitionKey: flakyKey })).toHaveLength(0);
    expect((await externalTaskLog(url, flakyKey)).filter((entry) => entry.failureLog)).toHaveLength(0);

    const changes = readFileSync(resolve('.tmp/test-logs', `${key}.log`), 'utf8')
      .split('\n')
      .filter((line) => line.includes('circuit breaker state changed'))
      .map((line) => JSON.parse(line) as { service: string; to: string });
    expect(changes.map((change) => change.to)).toContain('open');
    expect(changes.map((change) => change.to)).toContain('half-open');
    expect(changes.at(-1)).toMatchObject({ service: 'flaky', to: 'closed' });
  });
});
