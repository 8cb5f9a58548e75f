/**
 * The daemon end to end with `engine.type: camunda8`, against the REST
 * protocol fake and real HTTP services on loopback: the same scenarios as
 * the Camunda 7 tests run against Operaton.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { parseJson, stringifyJson } from '../../src/lossless-json.ts';
import { zeebeProcess, waitUntil } from '../support/camunda8-bpmn.ts';
import { startCamunda8ProtocolFake, type Camunda8ProtocolFake } from '../support/camunda8-protocol-fake.ts';
import { startDaemon } from '../support/daemon.ts';
import { startTestServer, type RecordedRequest, type TestServer } from '../support/http-server.ts';

let fake: Camunda8ProtocolFake;
let service: TestServer;
let daemon: Daemon | undefined;
let respond: (request: RecordedRequest) => { status: number; body: unknown; delayMs?: number };

beforeEach(async () => {
  fake = await startCamunda8ProtocolFake();
  respond = () => ({ status: 200, body: { variables: {} } });
  service = await startTestServer(async (request, response) => {
    const reply = respond(request);
    if (reply.delayMs !== undefined) {
      // Unreferenced, so a reply still pending when the test ends does not hold Jest open.
      await new Promise((resolve) => setTimeout(resolve, reply.delayMs).unref());
    }
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(stringifyJson(reply.body));
  });
});

afterEach(async () => {
  await daemon?.stop(0);
  daemon = undefined;
  await service.close();
  expect(fake.violations).toEqual([]);
  await fake.close();
});

function config(extra = ''): string {
  return `
engine:
  type: camunda8
  baseUrl: ${fake.url}
  workerId: router-c8
  asyncResponseTimeout: 500ms
  requestTimeout: 5s
${extra}
services:
  payments:
    baseUrl: ${service.url}
    timeout: 10s
    retry: { maxAttempts: 1 }
topics:
  - topic: charge
    errors:
      402: PAYMENT_DECLINED
`;
}

const PROCESS = zeebeProcess('order', [{
  id: 'Charge',
  type: 'charge',
  headers: { service: 'payments', path: '/charge' },
  inputs: { orderId: '=order.id', amount: '=order.total' },
}]);

describe('camunda 8 daemon', () => {
  test('completes a job with the service result', async () => {
    const definition = fake.broker.deploy('order', PROCESS);
    const job = fake.broker.createJob(definition, {
      elementId: 'Charge',
      type: 'charge',
      variables: { orderId: 9_007_199_254_740_993n, amount: 42.5, order: { id: 'ignored' } },
    });
    respond = (request) => ({ status: 200, body: { variables: { chargeId: 'c-1', echoed: (parseJson(request.body) as { variables: unknown }).variables } } });
    daemon = startDaemon('camunda8-complete', config());

    await waitUntil('the job is completed', () => job.state === 'completed');

    const sent = parseJson(service.requests[0]!.body) as { variables: unknown; task: Record<string, unknown> };
    expect(service.requests[0]!.url).toBe('/charge');
    expect(service.requests[0]!.body).toContain('"orderId":9007199254740993');
    expect(Object.keys(sent.variables as object)).toEqual(['orderId', 'amount']);
    expect(sent.task).toMatchObject({ id: job.key, topic: 'charge', activityId: 'Charge', processDefinitionId: definition.processDefinitionKey });
    expect(job.completedWith).toEqual({ chargeId: 'c-1', echoed: { orderId: 9_007_199_254_740_993n, amount: 42.5 } });
  });

  test('raises a BPMN error with variables', async () => {
    const definition = fake.broker.deploy('order', PROCESS);
    const job = fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge', variables: { orderId: 'o-1' } });
    respond = () => ({ status: 402, body: { message: 'card declined' } });
    daemon = startDaemon('camunda8-bpmn-error', config());

    await waitUntil('the BPMN error is thrown', () => job.state === 'error-thrown');

    expect(job.thrownError?.errorCode).toBe('PAYMENT_DECLINED');
  });

  test('failure ends in an incident when retries run out', async () => {
    const definition = fake.broker.deploy('order', PROCESS);
    const job = fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge', retries: 3 });
    respond = () => ({ status: 500, body: { message: 'ledger offline' } });
    daemon = startDaemon('camunda8-incident', config('  failure: { retryTimeout: 100ms }'));

    await waitUntil('the incident is raised', () => job.state === 'incident');

    expect(job.failures.map((failure) => failure.retries)).toEqual([2, 1, 0]);
    expect(job.failures.map((failure) => failure.retryBackOff)).toEqual([100, 200, 0]);
    expect(job.incidentMessage).toContain('500');
    expect(job.activations).toBe(3);
  });

  test('extends the lock of a slow job', async () => {
    const definition = fake.broker.deploy('order', PROCESS);
    const job = fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge' });
    respond = () => ({ status: 200, body: { variables: { done: true } }, delayMs: 2_500 });
    daemon = startDaemon('camunda8-lock', config('  lockDuration: 1s\n  extendLockAt: 0.5'));

    await waitUntil('the job is completed', () => job.state === 'completed');

    expect(job.timeoutUpdates.length).toBeGreaterThanOrEqual(2);
    expect(job.timeoutUpdates.every((timeout) => timeout === 1_000)).toBe(true);
    expect(job.activations).toBe(1);
  });

  test('shutdown gives back jobs still running', async () => {
    const definition = fake.broker.deploy('order', PROCESS);
    const jobs = [0, 1, 2].map(() => fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge', retries: 3 }));
    respond = () => ({ status: 200, body: { variables: {} }, delayMs: 5_000 });
    daemon = startDaemon('camunda8-shutdown', config());
    await waitUntil('every job reached the service', () => service.requests.length === 3);

    await daemon.stop(200);

    for (const job of jobs) {
      expect(job.state).toBe('activatable');
      expect(job.retries).toBe(3);
      // A fetch still out when the jobs are given back may activate them once more; they are given back again then.
      expect(job.failures.length).toBeGreaterThanOrEqual(1);
      expect(job.failures.every((failure) => failure.retries === 3 && failure.retryBackOff === 0)).toBe(true);
    }
    expect(daemon.state).toBe('stopped');
  });

  test('retries a report refused with 503', async () => {
    const definition = fake.broker.deploy('order', PROCESS);
    const job = fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge' });
    fake.failNext(/\/completion$/, 503, 2);
    daemon = startDaemon('camunda8-report-retry', config());

    await waitUntil('the job is completed', () => job.state === 'completed');

    expect(fake.requests.filter((request) => request.path.endsWith('/completion'))).toHaveLength(3);
    expect(job.failures).toEqual([]);
  });

  test('retries the definition XML after a deployment', async () => {
    const definition = fake.broker.deploy('order', PROCESS, { xmlNotFoundCount: 2 });
    const first = fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge' });
    daemon = startDaemon('camunda8-xml-404', config());

    await waitUntil('the first job is completed', () => first.state === 'completed');
    const second = fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge' });
    await waitUntil('the second job is completed', () => second.state === 'completed');

    expect(definition.xmlRequests).toBe(3);
    expect(service.requests.map((request) => request.url)).toEqual(['/charge', '/charge']);
  });
});
