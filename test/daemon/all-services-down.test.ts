/**
 * The daemon as its own process, with the only service it calls down. The
 * breaker opens and every fetch loop waits for capacity. The process must
 * stay up, not exit as if its work were done, until a signal stops it.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

import { deployBpmn, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { writeConfig } from '../support/cli.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';

/** Returns a loopback port that nothing listens on: one the OS handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  return port;
}

describe('daemon with every service down', () => {
  test('stays up until SIGTERM', async () => {
    const url = engineUrl();
    const key = uniqueProcessKey('AllDown');
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key }]) }]);
    await startProcessInstance(url, key);
    const config = writeConfig(`
engine: { baseUrl: '${url}', workerId: ${key}, asyncResponseTimeout: 1s }
services:
  orders: { baseUrl: 'http://127.0.0.1:${await closedPort()}', breaker: { failureThreshold: 1, openDuration: 30s } }
topics:
  - { topic: ${key}, service: orders }
logging: { level: info }
`);
    const child = spawn(process.execPath, [resolve('src/cli/main.ts'), 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

    try {
      await waitFor(() => stdout.includes('circuit breaker state changed'), { timeoutMs: 20_000, description: 'the breaker to open' });
      // The fetch loop now waits for capacity with no request out; without a ref'd timer Node would exit here with code 0.
      await new Promise((resolveWait) => setTimeout(resolveWait, 3_000));
      expect(child.exitCode).toBeNull();
      expect(stdout).toContain('ECONNREFUSED');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
