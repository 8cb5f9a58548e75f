/**
 * `start` with `telemetry.server`: the command serves /metrics, /healthz and
 * /readyz while it runs, and exits with status 1 when its port is in use.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { request } from 'undici';

import { engineUrl } from '../support/engine.ts';

const cli = resolve('src/cli/main.ts');

interface Run {
  code: number | null;
  stdout: string;
}

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'router-cli-telemetry-')), 'config.yaml');
  writeFileSync(file, text);
  return file;
}

/** Runs `start`, calls `whileRunning` with the health server's port once the daemon runs, then sends SIGTERM. */
function runStart(file: string, whileRunning: (port: number) => Promise<void>): Promise<Run & { error?: unknown }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [cli, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let started = false;
    let error: unknown;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const port = /"port":(\d+)[^\n]*"msg":"health and metrics server listening"/.exec(stdout)?.[1];
      if (!started && port !== undefined && stdout.includes('"state":"running"')) {
        started = true;
        whileRunning(Number(port)).catch((caught: unknown) => {
          error = caught;
        }).finally(() => child.kill('SIGTERM'));
      }
    });
    child.once('close', (code) => resolveRun({ code, stdout, error }));
  });
}

describe('start with a telemetry server', () => {
  test('serves probes and metrics until SIGTERM', async () => {
    const file = writeConfig(`
engine: { baseUrl: ${engineUrl()}, asyncResponseTimeout: 500ms }
services: { backend: { baseUrl: http://127.0.0.1:9 } }
topics: [{ topic: cli-telemetry-unused, service: backend }]
telemetry: { server: { host: 127.0.0.1, port: 0 } }
`);
    const seen: Record<string, number> = {};
    let metrics = '';

    const run = await runStart(file, async (port) => {
      for (const path of ['/healthz', '/metrics']) {
        const response = await request(`http://127.0.0.1:${port}${path}`);
        const text = await response.body.text();
        seen[path] = response.statusCode;
        if (path === '/metrics') {
          metrics = text;
        }
      }
      // Ready once a long poll of 500 ms has returned from the engine.
      for (let attempt = 0; attempt < 50 && seen['/readyz'] !== 200; attempt += 1) {
        const response = await request(`http://127.0.0.1:${port}/readyz`);
        await response.body.text();
        seen['/readyz'] = response.statusCode;
        await new Promise((wait) => setTimeout(wait, 100));
      }
    });

    expect(run.error).toBeUndefined();
    expect(run.code).toBe(0);
    expect(seen).toEqual({ '/healthz': 200, '/metrics': 200, '/readyz': 200 });
    expect(metrics).toContain('target_info');
  });

  test('port in use exits with status 1', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolveListen) => blocker.listen(0, '127.0.0.1', resolveListen));
    const port = (blocker.address() as { port: number }).port;
    const file = writeConfig(`
engine: { baseUrl: ${engineUrl()} }
services: { backend: { baseUrl: http://127.0.0.1:9 } }
topics: [{ topic: cli-telemetry-unused, service: backend }]
telemetry: { server: { host: 127.0.0.1, port: ${port} } }
`);

    const run = await new Promise<Run>((resolveRun) => {
      const child = spawn(process.execPath, [cli, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.once('close', (code) => resolveRun({ code, stdout }));
    });
    await new Promise<void>((resolveClose) => blocker.close(() => resolveClose()));

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('health and metrics server failed to start');
    expect(run.stdout).toContain('EADDRINUSE');
  });
});
