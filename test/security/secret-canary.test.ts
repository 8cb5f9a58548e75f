/**
 * A canary secret placed in the configuration (through `${VAR}`) and in the
 * environment must not show up in anything the daemon emits: its log lines,
 * the spans it exports, its /metrics page, or the failure messages it
 * reports to the engine.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { request } from 'undici';

import { countProcessInstances, deployBpmn, listIncidents, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { externalTaskLog } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const cli = resolve('src/cli/main.ts');

describe('canary secret', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Canary');
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const envCanary = `envcanary-${randomBytes(12).toString('hex')}`;
  let service: TestServer;
  let collector: TestServer;

  beforeAll(async () => {
    service = await startTestServer((request, response) => {
      if (request.url === '/fail') {
        sendJson(response, 500, { message: 'backend failed' });
        return;
      }
      sendJson(response, 200, { variables: { ok: true } });
    });
    collector = await startTestServer((_request, response) => sendJson(response, 200, {}));
  });

  afterAll(async () => {
    await service.close();
    await collector.close();
  });

  test('never appears in logs, spans, metrics or errors', async () => {
    await deployBpmn(url, [
      { name: `${key}-ok.bpmn`, xml: linearProcess(`${key}_ok`, [{ id: 'Fine', topic: `${key}-work` }]) },
      { name: `${key}-fail.bpmn`, xml: linearProcess(`${key}_fail`, [{ id: 'Broken', topic: `${key}-work`, properties: { path: '/fail' } }]) },
      { name: `${key}-ghost.bpmn`, xml: linearProcess(`${key}_ghost`, [{ id: 'Ghost', topic: `${key}-work`, properties: { service: 'ghost' } }]) },
    ]);
    const file = join(mkdtempSync(join(tmpdir(), 'router-canary-')), 'config.yaml');
    writeFileSync(file, `
engine:
  baseUrl: ${url}
  asyncResponseTimeout: 500ms
  auth: { type: basic, username: demo, password: '\${CANARY}' }
  failure: { retries: 1, retryTimeout: 100ms }
services:
  backend:
    baseUrl: ${service.url}
    auth: { type: bearer, token: '\${CANARY}' }
    headers: { x-api-key: '\${CANARY}' }
topics:
  - { topic: ${key}-work, service: backend }
telemetry:
  tracing: { endpoint: '${collector.url}/v1/traces', headers: { authorization: 'Bearer \${CANARY}' } }
  server: { host: 127.0.0.1, port: 0 }
logging: { level: trace }
`);

    const child = spawn(process.execPath, [cli, 'start', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CANARY: canary, UNRELATED_SECRET: envCanary },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolveExit) => child.once('close', resolveExit));

    let metrics = '';
    try {
      const port = await waitFor(() => /"port":(\d+)[^\n]*"msg":"health and metrics server listening"/.exec(output)?.[1], {
        timeoutMs: 30_000,
        description: 'the health server to listen',
      });
      for (const suffix of ['ok', 'fail', 'ghost']) {
        await startProcessInstance(url, `${key}_${suffix}`);
      }
      await waitFor(async () => (await countProcessInstances(url, `${key}_ok`)).finished === 1, { timeoutMs: 30_000, description: 'the ok instance to end' });
      await waitFor(async () => (await listIncidents(url, { processDefinitionKey: `${key}_fail` })).length === 1, { timeoutMs: 30_000, description: 'an incident of the failing task' });
      await waitFor(async () => (await listIncidents(url, { processDefinitionKey: `${key}_ghost` })).length === 1, { timeoutMs: 30_000, description: 'an incident of the undeclared service' });
      const response = await request(`http://127.0.0.1:${port}/metrics`);
      metrics = await response.body.text();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    const incidents = [
      ...(await listIncidents(url, { processDefinitionKey: `${key}_fail` })),
      ...(await listIncidents(url, { processDefinitionKey: `${key}_ghost` })),
    ];
    const failureDetails = await Promise.all((await externalTaskLog(url, `${key}_fail`))
      .filter((entry) => entry.failureLog)
      .map(async (entry) => {
        const response = await request(`${url}/history/external-task-log/${(entry as { id?: string }).id ?? ''}/error-details`);
        return response.body.text();
      }));
    const spans = collector.requests.map((recorded) => recorded.body).join('\n');

    // The secret was in use: the service received it, so its absence below is meaningful.
    expect(service.requests[0]?.headers.authorization).toBe(`Bearer ${canary}`);
    expect(collector.requests.length).toBeGreaterThan(0);
    expect(metrics).toContain('# TYPE');
    expect(output).toContain('task failed');
    expect(failureDetails.join('\n')).toContain('backend failed');

    for (const secret of [canary, envCanary]) {
      expect(output).not.toContain(secret);
      expect(spans).not.toContain(secret);
      expect(metrics).not.toContain(secret);
      expect(JSON.stringify(incidents)).not.toContain(secret);
      expect(JSON.stringify(failureDetails)).not.toContain(secret);
    }
  });
});
