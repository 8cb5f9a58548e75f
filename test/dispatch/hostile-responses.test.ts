import { parseConfig } from '../../src/config/load.ts';
import type { RouterConfig } from '../../src/config/types.ts';
import { Dispatcher } from '../../src/dispatch/dispatcher.ts';
import type { Task } from '../../src/engine/types.ts';
import { resolveRoute } from '../../src/routing/route.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const task: Task = {
  id: 'task-hostile',
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

const SEVENTEEN_MIB = 17 * 1024 * 1024;

describe('hostile downstream responses', () => {
  let server: TestServer;
  let config: RouterConfig;
  let dispatcher: Dispatcher;

  beforeAll(async () => {
    server = await startTestServer((request, response) => {
      switch (request.url) {
        case '/invalid-json':
          response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          response.end('{"variables": {"a": 1');
          return;
        case '/problem-json':
          response.writeHead(200, { 'content-type': 'application/problem+json' });
          response.end('<html>oops</html>');
          return;
        case '/huge':
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(`{"variables":{"blob":"${'x'.repeat(SEVENTEEN_MIB)}"}}`);
          return;
        case '/stalled-body':
          // Headers and the first bytes arrive, the rest never does.
          response.writeHead(200, { 'content-type': 'application/json' });
          response.write('{"variables":');
          return;
        case '/never':
          return;
        case '/ok':
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"variables":{"fine":true}}');
          return;
        default:
          response.writeHead(404);
          response.end();
      }
    });
    config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
services:
  downstream: { baseUrl: '${server.url}', timeout: 300ms, retry: { maxAttempts: 1 } }
topics:
  - { topic: call, service: downstream }
`, { env: {} });
    dispatcher = new Dispatcher(config);
  });

  afterAll(async () => {
    await dispatcher.close();
    await server.close();
  });

  function dispatchTo(path: string) {
    const route = resolveRoute(config, config.topics[0]!, { id: 'Call', properties: { path }, headers: {} });
    return dispatcher.dispatch(task, {}, route);
  }

  test('invalid JSON 2xx is a failure', async () => {
    const outcome = await dispatchTo('/invalid-json');

    expect(outcome.kind).toBe('failure');
    expect(outcome).toMatchObject({ kind: 'failure', message: expect.stringMatching(/POST downstream\/invalid-json returned HTTP 200 with an invalid JSON body/) });
    expect(outcome).toMatchObject({ kind: 'failure', transient: false });
  });

  test('invalid +json 2xx is a failure', async () => {
    const outcome = await dispatchTo('/problem-json');

    expect(outcome.kind).toBe('failure');
    expect(outcome).toMatchObject({ kind: 'failure', details: expect.stringContaining('<html>oops</html>') });
  });

  test('oversized body is a bounded failure', async () => {
    const outcome = await dispatchTo('/huge');

    expect(outcome.kind).toBe('failure');
    expect(outcome).toMatchObject({ kind: 'failure', message: expect.stringMatching(/response body larger than the 16 MiB limit/) });
  });

  test('stalled body times out', async () => {
    const outcome = await dispatchTo('/stalled-body');

    expect(outcome.kind).toBe('failure');
    expect(outcome).toMatchObject({ kind: 'failure', message: expect.stringMatching(/timed out after 300 ms/) });
    expect(outcome).toMatchObject({ kind: 'failure', transient: true });
  });

  test('missing answer times out', async () => {
    const outcome = await dispatchTo('/never');

    expect(outcome.kind).toBe('failure');
    expect(outcome).toMatchObject({ kind: 'failure', message: expect.stringMatching(/timed out after 300 ms/) });
  });

  test('variables that cannot become JSON fail the task without a request', async () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const requestsBefore = server.requests.length;
    const route = resolveRoute(config, config.topics[0]!, { id: 'Call', properties: { path: '/ok' }, headers: {} });

    const outcome = await dispatcher.dispatch(task, { circular }, route);

    expect(outcome).toMatchObject({
      kind: 'failure',
      message: expect.stringMatching(/^the variables of task task-hostile cannot be sent to downstream as JSON: .*circular.*; pass plain JSON values$/i),
      transient: false,
    });
    expect(server.requests.length).toBe(requestsBefore);
  });

  test('dispatcher still works afterwards', async () => {
    const outcome = await dispatchTo('/ok');

    expect(outcome).toEqual({ kind: 'complete', variables: { fine: true } });
  });
});
