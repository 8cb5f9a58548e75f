import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { request } from 'undici';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { deployBpmn, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import type { OperatonProcess } from '../../src/demo/operaton.ts';
import { linearProcess } from '../support/bpmn.ts';
import { startDaemon } from '../support/daemon.ts';
import { startPrivateEngine, stopPrivateEngines, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';
import { startTokenServer, type TokenServer } from '../support/token-server.ts';

const JWT_SECRET = 'a-test-secret-of-at-least-32-bytes!';
const CLIENT = { clientId: 'task-router', clientSecret: 'client secret: with + and :' };

describe('engine behind OAuth 2.0', () => {
  const key = uniqueProcessKey('OAuth');
  let engine: OperatonProcess;
  let tokens: TokenServer;
  let service: TestServer;
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    engine = await startPrivateEngine({ oauth: { jwtSecret: JWT_SECRET, audience: 'engine-rest' } });
    tokens = await startTokenServer({ ...CLIENT, jwtSecret: JWT_SECRET, audience: 'engine-rest' });
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: { done: true } }));
    await deployBpmn(engine.restUrl, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key }]) }], engine.credentials());
  });

  afterAll(async () => {
    await Promise.all(daemons.map((daemon) => daemon.stop(5_000)));
    await service.close();
    await tokens.close();
    await stopPrivateEngines();
  });

  function daemonWith(name: string, clientSecret: string): Daemon {
    const daemon = startDaemon(name, `
engine:
  baseUrl: ${engine.restUrl}
  asyncResponseTimeout: 1s
  auth:
    type: oauth
    tokenUrl: ${tokens.tokenUrl}
    clientId: ${CLIENT.clientId}
    clientSecret: \${ENGINE_CLIENT_SECRET}
    scope: engine
services:
  backend: { baseUrl: '${service.url}' }
topics:
  - topic: ${key}
    service: backend
`, { ENGINE_CLIENT_SECRET: clientSecret });
    daemons.push(daemon);
    return daemon;
  }

  async function instanceEnds(): Promise<void> {
    const credentials = engine.credentials();
    const instance = await startProcessInstance(engine.restUrl, key, credentials);
    await waitFor(async () => {
      const response = await request(`${engine.restUrl}/history/process-instance/${instance.id}`, { headers: { authorization: `Bearer ${credentials.token}` } });
      return (JSON.parse(await response.body.text()) as { endTime: string | null }).endTime !== null;
    }, { timeoutMs: 30_000, description: `instance ${instance.id} to end` });
  }

  test('engine refuses requests without a valid token', async () => {
    const anonymous = await request(`${engine.restUrl}/version`);
    const forged = await request(`${engine.restUrl}/version`, { headers: { authorization: 'Bearer e30.e30.c2lnbmF0dXJl' } });
    const valid = await request(`${engine.restUrl}/version`, { headers: { authorization: `Bearer ${engine.credentials().token}` } });

    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toContain('Bearer error="invalid_token"');
    expect(forged.statusCode).toBe(401);
    expect(valid.statusCode).toBe(200);
    await Promise.all([anonymous.body.dump(), forged.body.dump(), valid.body.dump()]);
  });

  test('tokens expire and renew during a run', async () => {
    tokens.setLifetime(2, 2);
    const daemon = daemonWith(`${key}-renew`, CLIENT.clientSecret);
    const grantedBefore = tokens.granted;

    // About 6 s of work under 2-second tokens.
    for (let round = 0; round < 6; round += 1) {
      await instanceEnds();
      await new Promise((resolvePause) => setTimeout(resolvePause, 1_000));
    }

    expect(tokens.granted - grantedBefore).toBeGreaterThanOrEqual(3);
    const calls = daemon.orchestrator.getMetrics().orchestratorMetrics.apiCallsByResult as Record<string, number>;
    expect(Object.keys(calls).filter((call) => call.endsWith(':401'))).toEqual([]);
    await daemon.stop(5_000);
  });

  test('rejected token renewed once', async () => {
    // The client believes the token lasts an hour; the engine stops accepting it after 2 s.
    tokens.setLifetime(2, 3_600);
    const daemon = daemonWith(`${key}-rejected`, CLIENT.clientSecret);
    await instanceEnds();
    const grantedBefore = tokens.granted;

    // The JWT's exp is rounded up to whole seconds, so the token dies 2 to 3 s after it was issued.
    await new Promise((resolvePause) => setTimeout(resolvePause, 4_000));
    await instanceEnds();

    expect(tokens.granted - grantedBefore).toBeGreaterThanOrEqual(1);
    // Whichever call used the dead token first (a fetch, or the complete of a task fetched just before) was refused once.
    const calls = daemon.orchestrator.getMetrics().orchestratorMetrics.apiCallsByResult as Record<string, number>;
    const refused = Object.entries(calls).filter(([call]) => call.endsWith(':401')).reduce((sum, [, count]) => sum + count, 0);
    expect(refused).toBeGreaterThanOrEqual(1);
    await daemon.stop(5_000);
  });

  test('wrong client secret reported and retried', async () => {
    tokens.setLifetime(60, 60);
    const name = `${key}-wrong-secret`;
    const daemon = daemonWith(name, 'not the secret');

    await waitFor(() => daemon.fetchStates().backend === 'backing-off', { timeoutMs: 10_000, description: 'the fetch loop to back off' });
    const log = readFileSync(resolve('.tmp/test-logs', `${name}.log`), 'utf8');
    expect(log).toContain('returned HTTP 401 (invalid_client: unknown client or wrong secret); check engine.auth.clientId, clientSecret and scope');
    expect(log).not.toContain('not the secret');
    await daemon.stop(5_000);
  });
});
