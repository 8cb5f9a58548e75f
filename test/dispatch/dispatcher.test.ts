import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseConfig } from '../../src/config/load.ts';
import type { RouterConfig } from '../../src/config/types.ts';
import { Dispatcher } from '../../src/dispatch/dispatcher.ts';
import type { Task, Variables } from '../../src/engine/types.ts';
import { resolveRoute, type Route } from '../../src/routing/route.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

function task(overrides: Partial<Task> = {}): Task {
  return {
    id: 'task-1',
    topic: 'reserve',
    activityId: 'ReserveStock',
    activityInstanceId: undefined,
    processInstanceId: 'pi-1',
    processDefinitionId: 'order:1:abc',
    processDefinitionKey: 'order',
    businessKey: 'order-42',
    tenantId: undefined,
    retries: null,
    priority: 0,
    workerId: 'worker-1',
    lockExpiresAt: undefined,
    ...overrides,
  };
}

describe('Dispatcher over HTTP', () => {
  let server: TestServer;
  let config: RouterConfig;
  let dispatcher: Dispatcher;
  let handlerFolder: string;

  beforeAll(async () => {
    server = await startTestServer(async (request, response) => {
      switch (request.url) {
        case '/api/reserve':
          sendJson(response, 200, { variables: { reservationId: 'r-1' }, ignored: true });
          return;
        case '/api/out-of-stock':
          sendJson(response, 409, { message: 'sku-9 is out of stock', variables: { missing: ['sku-9'] } });
          return;
        case '/api/broken':
          sendJson(response, 500, { message: 'database down' });
          return;
        case '/api/slow':
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          sendJson(response, 200, {});
          return;
        case '/api/bad-variables':
          sendJson(response, 200, { variables: 'not-an-object' });
          return;
        case '/api/plain':
          response.end('ok');
          return;
        default:
          sendJson(response, 404, { message: 'no route' });
      }
    });

    handlerFolder = mkdtempSync(join(tmpdir(), 'router-handlers-'));
    writeFileSync(join(handlerFolder, 'ok.mjs'), 'export default (task) => ({ outcome: "complete", variables: { seen: task.variables.orderId } });\n');
    writeFileSync(join(handlerFolder, 'throws.mjs'), 'export default () => { throw new Error("handler exploded"); };\n');

    config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
services:
  inventory:
    baseUrl: ${server.url}/api
    timeout: 300ms
    maxConcurrent: 2
    retry: { maxAttempts: 1 }
    auth: { type: bearer, token: t0k3n }
    headers: { x-tenant: acme }
topics:
  - topic: reserve
    service: inventory
    path: /reserve
    variables: [orderId]
    resultVariable: reserveResponse
    errors: { 409: OUT_OF_STOCK }
  - topic: handled
    handler: ok.mjs
  - topic: throwing
    handler: throws.mjs
`, { env: {}, baseDir: handlerFolder });
    dispatcher = new Dispatcher(config);
  });

  afterAll(async () => {
    await dispatcher.close();
    await server.close();
  });

  function route(topic: string, properties: Record<string, string> = {}): Route {
    const topicOptions = config.topics.find((candidate) => candidate.topic === topic);
    if (topicOptions === undefined) {
      throw new Error(`no topic ${topic}`);
    }
    return resolveRoute(config, topicOptions, {
      id: 'ReserveStock', name: undefined, type: 'serviceTask', processId: 'order', parentId: undefined,
      topic, implementationType: 'external', jobType: undefined, properties, headers: {}, inputs: [], outputs: [],
      documentation: undefined, outgoing: [], attachedToRef: undefined, calledElement: undefined, errorCode: undefined,
    });
  }

  test('2xx completes with the response variables', async () => {
    const outcome = await dispatcher.dispatch(task(), { orderId: 'o-1', secret: 'x' }, route('reserve'));

    expect(outcome.kind).toBe('complete');
    expect(outcome.kind === 'complete' && outcome.variables.reservationId).toBe('r-1');
    expect(outcome.kind === 'complete' && outcome.variables.reserveResponse).toEqual({ variables: { reservationId: 'r-1' }, ignored: true });
  });

  test('request carries selected variables, metadata and headers', async () => {
    await dispatcher.dispatch(task({ id: 'task-headers' }), { orderId: 'o-2', secret: 'x' }, route('reserve'));
    const request = server.requests.find((candidate) => candidate.headers['idempotency-key'] === 'task-headers:initial');
    const body = JSON.parse(request?.body ?? '{}');

    expect(request?.method).toBe('POST');
    expect(request?.headers.authorization).toBe('Bearer t0k3n');
    expect(request?.headers['x-tenant']).toBe('acme');
    expect(body.variables).toEqual({ orderId: 'o-2' });
    expect(body.task).toMatchObject({ id: 'task-headers', topic: 'reserve', activityId: 'ReserveStock', processInstanceId: 'pi-1', processDefinitionId: 'order:1:abc', businessKey: 'order-42' });
  });

  test('mapped status raises a BPMN error with body message and variables', async () => {
    const outcome = await dispatcher.dispatch(task(), {}, route('reserve', { path: '/out-of-stock' }));

    expect(outcome).toEqual({ kind: 'bpmnError', errorCode: 'OUT_OF_STOCK', message: 'sku-9 is out of stock', variables: { missing: ['sku-9'] } });
  });

  test('activity errors property extends the mapping', async () => {
    const outcome = await dispatcher.dispatch(task(), {}, route('reserve', { path: '/broken', errors: '500=BACKEND_DOWN' }));

    expect(outcome.kind).toBe('bpmnError');
    expect(outcome.kind === 'bpmnError' && outcome.errorCode).toBe('BACKEND_DOWN');
  });

  test('unmapped status is a failure naming status and service', async () => {
    const outcome = await dispatcher.dispatch(task(), {}, route('reserve', { path: '/broken' }));

    expect(outcome.kind).toBe('failure');
    expect(outcome.kind === 'failure' && outcome.message).toBe('POST inventory/broken returned HTTP 500: database down');
  });

  test('timeout is a failure', async () => {
    const outcome = await dispatcher.dispatch(task(), {}, route('reserve', { path: '/slow' }));

    expect(outcome.kind).toBe('failure');
    expect(outcome.kind === 'failure' && outcome.message).toMatch(/timed out after 300 ms/);
    expect(outcome.kind === 'failure' && outcome.transient).toBe(true);
  });

  test('2xx with non-object variables is a failure', async () => {
    const outcome = await dispatcher.dispatch(task(), {}, route('reserve', { path: '/bad-variables' }));

    expect(outcome.kind).toBe('failure');
    expect(outcome.kind === 'failure' && outcome.message).toContain('"variables" as string');
  });

  test('non-JSON 2xx body lands in the result variable', async () => {
    const outcome = await dispatcher.dispatch(task(), {}, route('reserve', { path: '/plain' }));

    expect(outcome).toEqual({ kind: 'complete', variables: { reserveResponse: 'ok' } });
  });

  test('connection refused is a transient failure', async () => {
    const closed = await startTestServer(() => undefined);
    await closed.close();
    const refused = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
services: { gone: { baseUrl: '${closed.url}', retry: { maxAttempts: 1 } } }
topics: [{ topic: t, service: gone }]
`, { env: {} });
    const local = new Dispatcher(refused);
    const [topic] = refused.topics;
    const outcome = await local.dispatch(task(), {}, resolveRoute(refused, topic!, undefined));
    await local.close();

    expect(outcome.kind).toBe('failure');
    expect(outcome.kind === 'failure' && outcome.message).toMatch(/ECONNREFUSED/);
    expect(outcome.kind === 'failure' && outcome.transient).toBe(true);
  });

  test('handler module result completes the task', async () => {
    const outcome = await dispatcher.dispatch(task(), { orderId: 'o-7' }, route('handled'));

    expect(outcome).toEqual({ kind: 'complete', variables: { seen: 'o-7' } });
  });

  test('throwing handler fails the task', async () => {
    const outcome = await dispatcher.dispatch(task(), {}, route('throwing'));

    expect(outcome.kind).toBe('failure');
    expect(outcome.kind === 'failure' && outcome.message).toMatch(/handler exploded/);
  });

  test('rejected handler dispatch fails and logs', async () => {
    const lines: { msg: string; taskId?: string; target?: string }[] = [];
    const logger = createLogger({ level: 'error', destination: { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) } });
    const selecting = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
topics: [{ topic: handled, handler: ok.mjs, variables: [orderId] }]
`, { env: {}, baseDir: handlerFolder });
    const logged = new Dispatcher(selecting, logger);

    // A JavaScript caller may pass null variables: selecting the handler's variables then throws outside the handler.
    const outcome = await logged.dispatch(task({ id: 'task-null-variables' }), null as unknown as Variables, resolveRoute(selecting, selecting.topics[0]!, undefined));
    await logged.close();

    expect(outcome).toMatchObject({ kind: 'failure', message: expect.stringMatching(/^dispatch to \S+ok\.mjs failed unexpectedly: .*null/) });
    expect(outcome).not.toHaveProperty('transient');
    expect(lines).toContainEqual(expect.objectContaining({
      msg: 'dispatch failed unexpectedly, so the task fails',
      taskId: 'task-null-variables',
      target: expect.stringMatching(/ok\.mjs$/),
    }));
  });

  test('queue never runs more than maxConcurrent requests', async () => {
    let running = 0;
    let peak = 0;
    const slow = await startTestServer(async (_request, response) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 50));
      running -= 1;
      sendJson(response, 200, {});
    });
    const limited = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
services: { slow: { baseUrl: '${slow.url}', maxConcurrent: 3 } }
topics: [{ topic: t, service: slow }]
`, { env: {} });
    const local = new Dispatcher(limited);
    const [topic] = limited.topics;
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, index) => local.dispatch(task({ id: `t-${index}` }), {}, resolveRoute(limited, topic!, undefined))),
    );
    await local.close();
    await slow.close();

    expect(outcomes.every((outcome) => outcome.kind === 'complete')).toBe(true);
    expect(peak).toBeLessThanOrEqual(3);
  });
});
