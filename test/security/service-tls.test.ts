/**
 * A downstream service on https with a certificate from a private CA: the
 * test creates a throwaway CA and server certificate with `openssl`, and
 * the daemon trusts them only through the service's `tls.ca` file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseConfig } from '../../src/config/load.ts';
import { Dispatcher } from '../../src/dispatch/dispatcher.ts';
import type { Task } from '../../src/engine/types.ts';
import { ConfigError } from '../../src/errors.ts';
import { resolveRoute } from '../../src/routing/route.ts';

const task: Task = {
  id: 'task-tls',
  topic: 'call',
  activityId: 'Call',
  activityInstanceId: undefined,
  processInstanceId: 'pi-1',
  processDefinitionId: 'order:1:abc',
  processDefinitionKey: 'order',
  businessKey: undefined,
  tenantId: undefined,
  retries: null,
  priority: 0,
  workerId: 'worker-1',
  lockExpiresAt: undefined,
};

/** Creates a CA and a server certificate for 127.0.0.1 signed by it; returns the folder with ca.pem, server.key and server.pem. */
function createCertificates(): string {
  const folder = mkdtempSync(join(tmpdir(), 'router-tls-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: folder, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=router test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(folder, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'server.ext']);
  return folder;
}

function configFor(url: string, tls: string): string {
  return `
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
services:
  secure: { baseUrl: '${url}', timeout: 2s, retry: { maxAttempts: 1 }${tls} }
topics:
  - { topic: call, service: secure, path: /charge }
`;
}

describe('service TLS with a private CA', () => {
  let folder: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    folder = createCertificates();
    server = createServer({ key: readFileSync(join(folder, 'server.key')), cert: readFileSync(join(folder, 'server.pem')) }, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"variables":{"secure":true}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function dispatch(configText: string) {
    const config = parseConfig(configText, { env: {}, baseDir: folder });
    const dispatcher = new Dispatcher(config);
    try {
      return await dispatcher.dispatch(task, {}, resolveRoute(config, config.topics[0]!, undefined));
    } finally {
      await dispatcher.close();
    }
  }

  test('trusted CA completes the task', async () => {
    const outcome = await dispatch(configFor(url, ', tls: { ca: ca.pem }'));

    expect(outcome).toEqual({ kind: 'complete', variables: { secure: true } });
  });

  test('default trust store rejects the certificate', async () => {
    const outcome = await dispatch(configFor(url, ''));

    expect(outcome.kind).toBe('failure');
    expect(outcome).toMatchObject({ kind: 'failure', message: expect.stringMatching(/certificate/i) });
  });

  test('missing CA file is a config error', () => {
    expect(() => parseConfig(configFor(url, ', tls: { ca: no-such.pem }'), { env: {}, baseDir: folder })).toThrow(ConfigError);
    expect(() => parseConfig(configFor(url, ', tls: { ca: no-such.pem }'), { env: {}, baseDir: folder })).toThrow(/services\.secure\.tls\.ca.*ENOENT/);
  });

  test('file without certificates is a config error', () => {
    expect(() => parseConfig(configFor(url, ', tls: { ca: server.ext }'), { env: {}, baseDir: folder })).toThrow(/BEGIN CERTIFICATE/);
  });
});
