import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { deployBpmn, listExternalTasks, startProcessInstance } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const cli = resolve('src/cli/main.ts');

interface LogLine {
  msg: string;
  state?: string;
}

interface Run {
  code: number | null;
  lines: LogLine[];
}

/**
 * Runs `start --config FILE` and calls `onLine` with every JSON log line;
 * `signal` sends a signal to the daemon.
 */
function runDaemon(configFile: string, onLine: (line: LogLine, lines: LogLine[], signal: (name: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [cli, 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: LogLine[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const complete = buffered.split('\n');
      buffered = complete.pop() ?? '';
      for (const text of complete.filter((candidate) => candidate.trim() !== '')) {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        onLine(line, lines, (name) => child.kill(name));
      }
    });
    child.once('error', rejectRun);
    child.once('close', (code) => resolveRun({ code, lines }));
  });
}

describe('SIGTERM under load', () => {
  const url = engineUrl();
  let service: TestServer;
  let releaseStuck: () => void = () => {};

  beforeAll(async () => {
    const stuck = new Promise<void>((resolveStuck) => {
      releaseStuck = resolveStuck;
    });
    service = await startTestServer(async (request, response) => {
      if (request.url === '/stuck') {
        await stuck;
      } else {
        await new Promise((resolveDelay) => setTimeout(resolveDelay, 100));
      }
      sendJson(response, 200, {});
    });
  });

  afterAll(async () => {
    releaseStuck();
    await service.close();
  });

  async function prepare(prefix: string, path: string, instances: number, gracePeriod: string): Promise<{ key: string; workerId: string; file: string }> {
    const key = uniqueProcessKey(prefix);
    const workerId = `${key}-worker`;
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'First', topic: key }, { id: 'Second', topic: key }]) }]);
    for (let index = 0; index < instances; index += 1) {
      await startProcessInstance(url, key);
    }
    const file = join(mkdtempSync(join(tmpdir(), 'router-sigterm-')), 'config.yaml');
    writeFileSync(file, `
engine: { baseUrl: ${url}, workerId: ${workerId}, maxTasks: 20, asyncResponseTimeout: 1s, lockDuration: 5m }
services:
  backend: { baseUrl: '${service.url}', maxConcurrent: 8, timeout: 10m }
topics:
  - { topic: ${key}, service: backend, path: ${path} }
logging: { level: debug }
shutdown: { gracePeriod: ${gracePeriod} }
`);
    return { key, workerId, file };
  }

  async function lockedBy(key: string, workerId: string): Promise<number> {
    const tasks = await listExternalTasks(url, { processDefinitionKey: key });
    return tasks.filter((task) => task.workerId === workerId && task.lockExpirationTime !== null).length;
  }

  test('no task stays locked after SIGTERM', async () => {
    const { key, workerId, file } = await prepare('Sigterm', '/work', 60, '30s');

    let signalled = false;
    const run = await runDaemon(file, (line, lines, signal) => {
      if (!signalled && lines.filter((candidate) => candidate.msg === 'task completed').length >= 10) {
        signalled = true;
        signal('SIGTERM');
      }
    });

    const states = run.lines.filter((line) => line.state !== undefined).map((line) => line.state);
    expect(run.code).toBe(0);
    expect(states).toEqual(['running', 'stopping', 'stopped']);
    expect(await lockedBy(key, workerId)).toBe(0);
    expect((await listExternalTasks(url, { processDefinitionKey: key })).length).toBeGreaterThan(0);
  });

  test('second SIGTERM forces the stop and unlocks', async () => {
    const { key, workerId, file } = await prepare('Sigkill', '/stuck', 12, '10m');

    let first = false;
    let second = false;
    // The first signal goes once every slot has a stuck request; the second once stopping has begun.
    const run = await runDaemon(file, (line, _lines, signal) => {
      if (!first && line.msg === 'fetching paused: no free capacity') {
        first = true;
        signal('SIGTERM');
      } else if (first && !second && line.state === 'stopping') {
        second = true;
        signal('SIGTERM');
      }
    });

    const messages = run.lines.map((line) => line.msg);
    expect(run.code).toBe(0);
    expect(messages).toContain('second signal received; forcing the stop');
    expect(messages).toContain('unlocking tasks still running');
    expect(run.lines.filter((line) => line.state !== undefined).map((line) => line.state)).toEqual(['running', 'stopping', 'stopped']);
    expect(await lockedBy(key, workerId)).toBe(0);
    expect(await listExternalTasks(url, { processDefinitionKey: key })).toHaveLength(12);
  });
});
