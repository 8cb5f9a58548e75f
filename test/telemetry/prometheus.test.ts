/**
 * A real Prometheus (Debian's `prometheus` package, which .ci/run installs)
 * scrapes the daemon's /metrics every second during a run on the real
 * engine, and its query API returns the task counter the daemon reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { request } from 'undici';

import { parseConfig } from '../../src/config/load.ts';
import { startRuntime, type DaemonRuntime } from '../../src/daemon/runtime.ts';
import { countProcessInstances, deployBpmn, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const INSTANCES = 12;

/** Returns a loopback port that was free a moment ago, for a program that cannot report the port it bound. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('no port assigned');
  }
  return address.port;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await request(url);
  const text = await response.body.text();
  return { status: response.statusCode, body: (text.startsWith('{') ? JSON.parse(text) : text) as T };
}

interface QueryResponse {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('Prometheus scraping the daemon', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Scraped');
  const topic = `${key}-work`;
  let service: TestServer;
  let runtime: DaemonRuntime;
  let prometheus: ChildProcess;
  let prometheusUrl: string;
  let prometheusOutput = '';

  beforeAll(async () => {
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: { done: true } }));
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic }]) }]);

    const config = parseConfig(`
engine: { baseUrl: ${url}, asyncResponseTimeout: 1s }
services:
  backend: { baseUrl: '${service.url}', timeout: 5s }
topics:
  - { topic: ${topic}, service: backend, path: /work }
telemetry:
  serviceName: scraped-daemon
  server: { host: 127.0.0.1, port: 0 }
`, { env: {} });
    runtime = await startRuntime({ config, logger: createLogger({ level: 'silent' }) });
    const metricsPort = runtime.server?.address.port;

    const directory = mkdtempSync(join(tmpdir(), 'prometheus-test-'));
    const configFile = join(directory, 'prometheus.yml');
    writeFileSync(configFile, [
      'global: { scrape_interval: 1s }',
      'scrape_configs:',
      '  - job_name: bpmn-task-router',
      `    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]`,
      '',
    ].join('\n'));
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn('prometheus', [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(directory, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout?.on('data', (chunk: Buffer) => { prometheusOutput += chunk.toString(); });
    prometheus.stderr?.on('data', (chunk: Buffer) => { prometheusOutput += chunk.toString(); });
    await waitFor(async () => {
      try {
        return (await getJson(`${prometheusUrl}/-/ready`)).status === 200;
      } catch {
        return false;
      }
    }, { timeoutMs: 30_000, intervalMs: 250, description: 'Prometheus to be ready' });
  });

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await runtime?.stop(5_000);
    await service?.close();
  });

  test('query API returns the task counter', async () => {
    for (let index = 0; index < INSTANCES; index += 1) {
      await startProcessInstance(url, key);
    }
    await waitFor(async () => (await countProcessInstances(url, key)).finished === INSTANCES, {
      timeoutMs: 60_000,
      description: `${INSTANCES} finished instances`,
    });

    const query = encodeURIComponent(`sum(bpmn_router_tasks_total{bpmn_topic="${topic}",bpmn_router_outcome="complete"})`);
    const scraped = await waitFor(async () => {
      const { body } = await getJson<QueryResponse>(`${prometheusUrl}/api/v1/query?query=${query}`);
      const value = Number(body.data?.result[0]?.value[1] ?? Number.NaN);
      return value === INSTANCES ? value : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, description: `Prometheus to report ${INSTANCES} tasks; its output: ${prometheusOutput.slice(-2_000)}` });

    expect(scraped).toBe(INSTANCES);
    expect(runtime.daemon.orchestrator.getMetrics().orchestratorMetrics.tasksProcessed).toBe(INSTANCES);
  });

  test('every pipeline step is timed', async () => {
    const { avgOperationTimes } = runtime.daemon.orchestrator.getMetrics().orchestratorMetrics;
    const query = encodeURIComponent('sum by (bpmn_router_operation) (bpmn_router_operation_duration_count)');

    const steps = await waitFor(async () => {
      const { body } = await getJson<QueryResponse>(`${prometheusUrl}/api/v1/query?query=${query}`);
      const found = (body.data?.result ?? []).map((series) => series.metric.bpmn_router_operation).sort();
      return found.length === 6 ? found : undefined;
    }, { timeoutMs: 10_000, intervalMs: 500, description: 'six timed steps in Prometheus' });

    expect(Object.keys(avgOperationTimes).sort()).toEqual(['complete', 'definition', 'dispatch', 'fetch', 'parse', 'route']);
    expect(steps).toEqual(['complete', 'definition', 'dispatch', 'fetch', 'parse', 'route']);
  });

  test('scrape target is up and ready', async () => {
    const up = await getJson<QueryResponse>(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent('up{job="bpmn-task-router"}')}`);
    const readyz = await getJson<{ status: string; checks: Record<string, unknown> }>(`http://127.0.0.1:${runtime.server?.address.port}/readyz`);
    const healthz = await getJson<{ status: string }>(`http://127.0.0.1:${runtime.server?.address.port}/healthz`);

    expect(up.body.data.result[0]?.value[1]).toBe('1');
    expect(readyz.status).toBe(200);
    expect(readyz.body.checks.engine).toBe('reachable');
    expect(healthz.status).toBe(200);
  });
});
