import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { engineUrl } from '../support/engine.ts';

const cli = resolve('src/cli/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], onStdout?: (text: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, (signal) => child.kill(signal));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', rejectRun);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'router-cli-')), 'config.yaml');
  writeFileSync(file, text);
  return file;
}

describe('command line', () => {
  test('validate accepts the example configuration', async () => {
    const run = await runCli(['validate', 'config/examples/order-flow.yaml']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('valid (6 services, 10 topics)');
  });

  test('validate rejects a bad file with key paths', async () => {
    const file = writeConfig('engine: { baseUrl: http://127.0.0.1:1/engine-rest, maxTasks: -1 }\ntopics: [{ topic: t, service: nowhere }]\n');
    const run = await runCli(['validate', file]);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('engine.maxTasks: received -1, expected an integer from 1 to 1000');
    expect(run.stderr).toContain(`${file}:1:`);
  });

  test('start refuses an invalid file before connecting', async () => {
    const file = writeConfig('engine: { baseUrl: not-a-url }\ntopics: [{ topic: t }]\n');
    const run = await runCli(['start', '--config', file]);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('engine.baseUrl');
  });

  test('mistyped option prints usage without a stack', async () => {
    const run = await runCli(['start', '--confg', 'x.yaml']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Unknown option '--confg'");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('validate checks every file named', async () => {
    const bad = writeConfig('topics: [{ topic: t }]\n');
    const run = await runCli(['validate', 'config/examples/order-flow.yaml', bad]);

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('order-flow.yaml: valid');
    expect(run.stderr).toContain('engine: received nothing');
  });

  test('unknown command prints usage', async () => {
    const run = await runCli(['launch']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "launch"');
  });

  test('start runs until SIGTERM and logs state changes', async () => {
    const file = writeConfig(`
engine: { baseUrl: ${engineUrl()}, asyncResponseTimeout: 1s }
services: { backend: { baseUrl: http://127.0.0.1:9 } }
topics: [{ topic: cli-test-unused, service: backend }]
`);
    let signalled = false;
    const run = await runCli(['start', '--config', file], (stdout, kill) => {
      if (!signalled && stdout.includes('"state":"running"')) {
        signalled = true;
        kill('SIGTERM');
      }
    });

    const states = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { state?: string; level: string })
      .filter((entry) => entry.state !== undefined)
      .map((entry) => entry.state);
    expect(run.code).toBe(0);
    expect(states).toEqual(['running', 'stopping', 'stopped']);
  });
});
