import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseConfig } from '../../src/config/load.ts';
import type { RouterConfig } from '../../src/config/types.ts';
import { Dispatcher } from '../../src/dispatch/dispatcher.ts';
import type { Task } from '../../src/engine/types.ts';
import { IllegalStateError } from '../../src/errors.ts';
import { ServiceOrchestrator } from '../../src/orchestrator.ts';
import { resolveRoute, type Route } from '../../src/routing/route.ts';
import { linearProcess } from '../support/bpmn.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

function task(id: string, priority = 0): Task {
  return {
    id, topic: 't', activityId: 'A', activityInstanceId: undefined, processInstanceId: 'pi', processDefinitionId: 'd:1:x',
    processDefinitionKey: 'd', businessKey: undefined, tenantId: undefined, retries: null, priority, workerId: 'w', lockExpiresAt: undefined,
  };
}

function configFor(serviceYaml: string, extra = ''): RouterConfig {
  return parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
${extra}
services:
  backend: ${serviceYaml}
topics: [{ topic: t, service: backend }]
`, { env: {} });
}

function routeOf(config: RouterConfig): Route {
  return resolveRoute(config, config.topics[0]!, undefined);
}

describe('dispatch retries and breaker', () => {
  let server: TestServer;
  let failuresLeft = 0;
  let gate: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    server = await startTestServer(async (request, response) => {
      if (request.url.startsWith('/gated')) {
        await gate;
      }
      if (request.url.startsWith('/flaky') && failuresLeft > 0) {
        failuresLeft -= 1;
        sendJson(response, 503, { message: 'busy' });
        return;
      }
      if (request.url.startsWith('/down')) {
        sendJson(response, 502, { message: 'bad gateway' });
        return;
      }
      sendJson(response, 200, { variables: { path: request.url } });
    });
  });

  afterAll(async () => {
    await server.close();
  });

  test('transient status is retried with the same key', async () => {
    const config = configFor(`{ baseUrl: '${server.url}/flaky', retry: { maxAttempts: 3, initialDelay: 10ms } }`);
    const dispatcher = new Dispatcher(config);
    failuresLeft = 2;
    const before = server.requests.length;

    const outcome = await dispatcher.dispatch(task('retry-me'), {}, routeOf(config));
    await dispatcher.close();

    const attempts = server.requests.slice(before);
    expect(outcome.kind).toBe('complete');
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((attempt) => attempt.headers['idempotency-key']))).toEqual(new Set(['retry-me:initial']));
    expect(dispatcher.stats().retries).toBe(2);
  });

  test('retries stop at maxAttempts with a transient failure', async () => {
    const config = configFor(`{ baseUrl: '${server.url}/down', retry: { maxAttempts: 2, initialDelay: 10ms }, breaker: { failureThreshold: 100 } }`);
    const dispatcher = new Dispatcher(config);

    const outcome = await dispatcher.dispatch(task('give-up'), {}, routeOf(config));
    await dispatcher.close();

    expect(outcome).toMatchObject({ kind: 'failure', transient: true, message: 'POST backend/ returned HTTP 502: bad gateway' });
  });

  test('retry deadline ends retries early', async () => {
    const config = configFor(`{ baseUrl: '${server.url}/down', retry: { maxAttempts: 10, initialDelay: 1s }, breaker: { failureThreshold: 100 } }`);
    const dispatcher = new Dispatcher(config);
    const before = server.requests.length;

    const outcome = await dispatcher.dispatch(task('deadline'), {}, routeOf(config), { retryDeadline: Date.now() });
    await dispatcher.close();

    expect(outcome.kind).toBe('failure');
    expect(server.requests.length - before).toBe(1);
  });

  test('open breaker defers tasks within the outage budget', async () => {
    const config = configFor(`{ baseUrl: '${server.url}/down', retry: { maxAttempts: 5, initialDelay: 10ms }, breaker: { failureThreshold: 2, openDuration: 1m } }`);
    const dispatcher = new Dispatcher(config);
    const route = routeOf(config);

    const first = await dispatcher.dispatch(task('opens'), {}, route);
    const before = server.requests.length;
    const later = await dispatcher.dispatch(task('after'), {}, route);
    const state = dispatcher.stats().breakers.backend?.state;
    await dispatcher.close();

    expect(first).toEqual({ kind: 'deferred', reason: 'circuit breaker of service "backend" is open' });
    expect(later.kind).toBe('deferred');
    expect(server.requests.length).toBe(before);
    expect(state).toBe('open');
    expect(dispatcher.breakerAdmits('backend')).toBe(0);
  });

  test('outage past its budget fails tasks', async () => {
    const config = configFor(`{ baseUrl: '${server.url}/down', retry: { maxAttempts: 5, initialDelay: 10ms }, breaker: { failureThreshold: 2, openDuration: 1m, outageBudget: 0 } }`);
    const dispatcher = new Dispatcher(config);

    const outcome = await dispatcher.dispatch(task('over-budget'), {}, routeOf(config));
    await dispatcher.close();

    expect(outcome.kind).toBe('failure');
    expect(outcome.kind === 'failure' && outcome.message).toBe('circuit breaker of service "backend" is open and the outage has lasted longer than its outage budget');
  });

  test('backlog starts in priority order', async () => {
    const config = configFor(`{ baseUrl: '${server.url}/gated', maxConcurrent: 1 }`);
    const dispatcher = new Dispatcher(config);
    const route = routeOf(config);
    let release: () => void = () => {};
    gate = new Promise((resolve) => {
      release = resolve;
    });
    const before = server.requests.length;

    const blocker = dispatcher.dispatch(task('blocker', 0), {}, route);
    await new Promise((resolve) => setImmediate(resolve));
    const backlog = [task('low', 1), task('high', 9), task('middle', 5)].map((item) => dispatcher.dispatch(item, {}, route));
    release();
    await Promise.all([blocker, ...backlog]);
    await dispatcher.close();

    const order = server.requests.slice(before).map((request) => String(request.headers['idempotency-key']).split(':')[0]);
    expect(order).toEqual(['blocker', 'high', 'middle', 'low']);
  });

  test('close defers queued tasks and is safe twice', async () => {
    const config = configFor(`{ baseUrl: '${server.url}/gated', maxConcurrent: 1 }`);
    const dispatcher = new Dispatcher(config);
    const route = routeOf(config);
    let release: () => void = () => {};
    gate = new Promise((resolve) => {
      release = resolve;
    });

    const running = dispatcher.dispatch(task('running'), {}, route);
    await new Promise((resolve) => setImmediate(resolve));
    const queued = dispatcher.dispatch(task('queued'), {}, route);
    const firstClose = dispatcher.close();
    const secondClose = dispatcher.close();
    expect(await queued).toEqual({ kind: 'deferred', reason: 'dispatch is stopping' });
    release();

    expect((await running).kind).toBe('complete');
    await Promise.all([firstClose, secondClose]);
    expect(secondClose).toBe(firstClose);
    expect(dispatcher.state).toBe('closed');
    expect(await dispatcher.dispatch(task('late'), {}, route)).toMatchObject({ kind: 'deferred' });
  });

  test('handler transient failure is retried', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'router-retry-handler-'));
    writeFileSync(join(folder, 'flaky.mjs'), `
let calls = 0;
export default () => {
  calls += 1;
  if (calls === 1) { const error = new Error('socket hang up'); error.code = 'ECONNRESET'; throw error; }
  if (calls === 2) return { outcome: 'failure', message: 'warming up', transient: true };
  return { outcome: 'complete', variables: { calls } };
};
`);
    const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
dispatch: { retry: { maxAttempts: 3, initialDelay: 10ms } }
topics: [{ topic: t, handler: flaky.mjs }]
`, { env: {}, baseDir: folder });
    const dispatcher = new Dispatcher(config);

    const outcome = await dispatcher.dispatch(task('handled'), {}, routeOf(config));
    await dispatcher.close();

    expect(outcome).toEqual({ kind: 'complete', variables: { calls: 3 } });
    expect(dispatcher.stats().retries).toBe(2);
  });

  test('orchestrator close defers queued tasks and is safe twice', async () => {
    const config = configFor(`{ baseUrl: '${server.url}/gated', maxConcurrent: 1 }`);
    const xml = linearProcess('d', [{ id: 'A', topic: 't' }]);
    const orchestrator = new ServiceOrchestrator({ config, definitionSource: { definitionXml: async () => xml } });
    let release: () => void = () => {};
    gate = new Promise((resolve) => {
      release = resolve;
    });
    const before = server.requests.length;

    const running = orchestrator.routeTask(task('lib-running'), {});
    await waitForRequests(before + 1);
    const queued = orchestrator.routeTask(task('lib-queued'), {});
    await new Promise((resolve) => setImmediate(resolve));
    const firstClose = orchestrator.close();
    const secondClose = orchestrator.close();
    expect(await queued).toMatchObject({ kind: 'deferred', reason: 'dispatch is stopping' });
    release();

    expect((await running).kind).toBe('complete');
    await firstClose;
    expect(secondClose).toBe(firstClose);
    await expect(orchestrator.routeTask(task('after-close'), {})).rejects.toThrow(IllegalStateError);
  });

  async function waitForRequests(count: number): Promise<void> {
    for (let tries = 0; server.requests.length < count && tries < 500; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
});
