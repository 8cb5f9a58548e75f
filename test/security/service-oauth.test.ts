/**
 * OAuth 2.0 client credentials for a downstream service: a token endpoint
 * and a service that checks HS256 access tokens, both real HTTP servers on
 * loopback, with the client secret taken from the environment.
 */
import { createHmac } from 'node:crypto';

import { parseConfig } from '../../src/config/load.ts';
import type { Task } from '../../src/engine/types.ts';
import { ServiceOrchestrator } from '../../src/orchestrator.ts';
import { sendJson, startTestServer, type RecordedRequest, type TestServer } from '../support/http-server.ts';
import { startTokenServer, type TokenServer } from '../support/token-server.ts';

const JWT_SECRET = 'service-oauth-test-signing-key';
const CLIENT_SECRET = 'canary-client-secret-7f3a';

const DEFINITION_XML = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://example.com/oauth">
  <bpmn:process id="Billing" isExecutable="true">
    <bpmn:serviceTask id="Charge" camunda:type="external" camunda:topic="charge" />
  </bpmn:process>
</bpmn:definitions>`;

/** Returns why an `Authorization` header does not carry a valid, unexpired token signed with JWT_SECRET, or undefined when it does. */
function tokenProblem(request: RecordedRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
    return 'missing bearer token';
  }
  const [encodedHeader = '', payload = '', signature = ''] = header.slice('Bearer '.length).split('.');
  const expected = createHmac('sha256', JWT_SECRET).update(`${encodedHeader}.${payload}`).digest('base64url');
  if (signature !== expected) {
    return 'bad signature';
  }
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp: number };
  return claims.exp * 1000 <= Date.now() ? 'expired' : undefined;
}

function task(id: string): Task {
  return {
    id, topic: 'charge', activityId: 'Charge', activityInstanceId: undefined, processInstanceId: `pi-${id}`, processDefinitionId: 'Billing:1:d',
    processDefinitionKey: 'Billing', businessKey: undefined, tenantId: undefined, retries: 3, priority: 0, workerId: 'w', lockExpiresAt: undefined,
  };
}

describe('service OAuth client credentials', () => {
  let tokens: TokenServer;
  let billing: TestServer;
  let orchestrator: ServiceOrchestrator;
  /** While true, the service rejects every token with 401, valid or not. */
  let rejectEveryToken = false;

  function createOrchestrator(secretVariable: string): ServiceOrchestrator {
    const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
services:
  billing:
    baseUrl: '${billing.url}'
    auth: { type: oauth, clientId: router, clientSecret: '\${${secretVariable}}', tokenUrl: '${tokens.tokenUrl}' }
topics:
  - { topic: charge, service: billing, path: /charge }
logging: { level: silent }
prediction: { enabled: false }
`, { env: { BILLING_CLIENT_SECRET: CLIENT_SECRET, WRONG_CLIENT_SECRET: 'not-the-secret' } });
    return new ServiceOrchestrator({ config, definitionSource: { definitionXml: async () => DEFINITION_XML } });
  }

  beforeAll(async () => {
    tokens = await startTokenServer({ clientId: 'router', clientSecret: CLIENT_SECRET, jwtSecret: JWT_SECRET });
    billing = await startTestServer((request, response) => {
      const problem = rejectEveryToken ? 'token revoked' : tokenProblem(request);
      if (problem !== undefined) {
        sendJson(response, 401, { message: problem });
        return;
      }
      sendJson(response, 200, { variables: { charged: true } });
    });
    orchestrator = createOrchestrator('BILLING_CLIENT_SECRET');
  });

  afterAll(async () => {
    await orchestrator?.close();
    await billing?.close();
    await tokens?.close();
  });

  test('token reused across tasks', async () => {
    const first = await orchestrator.routeTask(task('t1'), {});
    const second = await orchestrator.routeTask(task('t2'), {});

    expect(first).toMatchObject({ kind: 'complete', variables: { charged: true } });
    expect(second).toMatchObject({ kind: 'complete', variables: { charged: true } });
    expect(tokens.granted).toBe(1);
  });

  test('rejected token renewed once', async () => {
    // The next token expires within 2 s (its exp is rounded up) while the endpoint announces 60 s, so the client keeps it too long.
    tokens.setLifetime(1, 60);
    const fresh = createOrchestrator('BILLING_CLIENT_SECRET');
    try {
      expect((await fresh.routeTask(task('t3'), {})).kind).toBe('complete');
      const grantedBefore = tokens.granted;
      tokens.setLifetime(60, 60);
      await new Promise((resolve) => setTimeout(resolve, 2_200));

      const outcome = await fresh.routeTask(task('t4'), {});

      expect(outcome).toMatchObject({ kind: 'complete', variables: { charged: true } });
      expect(tokens.granted).toBe(grantedBefore + 1);
      const statuses = billing.requests.slice(-2).map((request) => tokenProblem(request));
      expect(statuses).toEqual(['expired', undefined]);
    } finally {
      await fresh.close();
    }
  });

  test('token rejected twice fails after one renewal', async () => {
    const fresh = createOrchestrator('BILLING_CLIENT_SECRET');
    rejectEveryToken = true;
    try {
      const grantedBefore = tokens.granted;
      const requestsBefore = billing.requests.length;

      const outcome = await fresh.routeTask(task('t6'), {});

      expect(outcome).toMatchObject({ kind: 'failure', message: expect.stringContaining('HTTP 401') });
      expect(billing.requests.length - requestsBefore).toBe(2);
      expect(tokens.granted - grantedBefore).toBe(2);
      const [first, second] = billing.requests.slice(requestsBefore).map((request) => request.headers.authorization);
      expect(second).not.toBe(first);
    } finally {
      rejectEveryToken = false;
      await fresh.close();
    }
  });

  test('wrong secret fails the task', async () => {
    const wrong = createOrchestrator('WRONG_CLIENT_SECRET');
    try {
      const requestsBefore = billing.requests.length;

      const outcome = await wrong.routeTask(task('t5'), {});

      expect(outcome.kind).toBe('failure');
      const message = outcome.kind === 'failure' ? outcome.message : '';
      expect(message).toContain('services.billing.auth.tokenUrl');
      expect(message).toContain('invalid_client');
      expect(message).not.toContain('not-the-secret');
      expect(billing.requests.length).toBe(requestsBefore);
    } finally {
      await wrong.close();
    }
  });
});
