/**
 * ServiceOrchestrator.close(): what it releases, that a second call is safe,
 * and that every later call is rejected with IllegalStateError.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { deployBpmn, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import type { Task } from '../../src/engine/types.ts';
import { IllegalStateError } from '../../src/errors.ts';
import { ServiceOrchestrator, type OrchestratorOptions } from '../../src/orchestrator.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { deleteKeys, SHARED_REDIS_URL, uniqueKeyPrefix } from '../support/redis.ts';

/** A service on 127.0.0.1 port 0 that responds to every request with 200 and keeps connections alive. */
async function startKeepAliveService(): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ variables: { reserved: true } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function openConnections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.getConnections((error, count) => (error ? reject(error) : resolve(count)));
  });
}

describe('orchestrator close', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('LibraryClose');
  const topic = `${key}-reserve`;
  let service: { server: Server; url: string };
  let definitionId: string;
  let processInstanceId: string;

  const task = (id: string): Task => ({
    id, topic, activityId: 'Reserve', activityInstanceId: undefined, processInstanceId, processDefinitionId: definitionId,
    processDefinitionKey: key, businessKey: undefined, tenantId: undefined, retries: null, priority: 0, workerId: 'close-test',
    lockExpiresAt: undefined,
  });

  const sections = (extra: Partial<OrchestratorOptions> = {}): OrchestratorOptions => ({
    engine: { baseUrl: url },
    services: { inventory: { baseUrl: service.url } },
    topics: [{ topic, service: 'inventory', path: '/reserve' }],
    ...extra,
  });

  beforeAll(async () => {
    service = await startKeepAliveService();
    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Reserve', topic }]) }]);
    definitionId = definition!.id;
    processInstanceId = (await startProcessInstance(url, key)).id;
  });

  afterAll(async () => {
    service.server.closeAllConnections();
    await new Promise<void>((resolve) => service.server.close(() => resolve()));
  });

  test('second call returns the first promise', async () => {
    const orchestrator = new ServiceOrchestrator(sections());

    const first = orchestrator.close();
    const second = orchestrator.close();
    await first;

    expect(second).toBe(first);
    expect(orchestrator.close()).toBe(first);
    await expect(orchestrator.close()).resolves.toBeUndefined();
  });

  test('close releases service connections', async () => {
    const orchestrator = new ServiceOrchestrator(sections());
    await orchestrator.routeTask(task('keep-alive'), {});
    expect(await openConnections(service.server)).toBeGreaterThan(0);

    await orchestrator.close();

    await waitFor(async () => (await openConnections(service.server)) === 0, { timeoutMs: 5_000, description: 'the keep-alive connection to close' });
  });

  test('calls after close are rejected', async () => {
    const orchestrator = new ServiceOrchestrator(sections());
    await orchestrator.close();

    const asyncCalls: [string, () => Promise<unknown>][] = [
      ['routeTask', () => orchestrator.routeTask(task('late'), {})],
      ['routeBatchTasks', () => orchestrator.routeBatchTasks([task('late')], [{}])],
      ['resolveRoute', () => orchestrator.resolveRoute(task('late'))],
      ['definition', () => orchestrator.definition(definitionId)],
      ['latestDefinition', () => orchestrator.latestDefinition(key)],
      ['activityDocumentation', () => orchestrator.activityDocumentation(definitionId, 'Reserve')],
      ['prefetchProcessXml', () => orchestrator.prefetchProcessXml(definitionId)],
      ['onIdle', () => orchestrator.onIdle()],
    ];
    for (const [method, call] of asyncCalls) {
      const rejection = call();
      await expect(rejection).rejects.toThrow(IllegalStateError);
      await expect(rejection).rejects.toMatchObject({
        code: 'ERR_ILLEGAL_STATE',
        message: `ServiceOrchestrator.${method}() was called after close(); create a new ServiceOrchestrator to route more tasks`,
      });
    }

    expect(() => orchestrator.clearCacheItem('xml', definitionId)).toThrow(IllegalStateError);
    expect(() => orchestrator.clearExpiredCacheEntries()).toThrow(IllegalStateError);
  });

  test('calls during close are rejected', async () => {
    const orchestrator = new ServiceOrchestrator(sections());
    const closing = orchestrator.close();

    await expect(orchestrator.routeTask(task('during-close'), {})).rejects.toThrow(IllegalStateError);
    await closing;
  });

  test('metrics stay readable after close', async () => {
    const orchestrator = new ServiceOrchestrator(sections());
    await orchestrator.routeTask(task('counted'), {});
    await orchestrator.close();

    const metrics = orchestrator.getMetrics();
    expect(metrics.orchestratorMetrics.tasksProcessed).toBe(1);
    expect(metrics.cacheMetrics.processXml).toMatchObject({ misses: 1, size: 0 });
    expect(orchestrator.queueDepths()).toEqual({ inventory: 0, '(handlers)': 0 });
  });

  test('close disconnects Redis', async () => {
    const keyPrefix = uniqueKeyPrefix();
    const orchestrator = new ServiceOrchestrator(sections({ cache: { redis: { url: SHARED_REDIS_URL, keyPrefix } } }));
    try {
      await orchestrator.routeTask(task('shared'), {});
      expect(orchestrator.getMetrics().cacheMetrics.processXml.shared).toMatchObject({ state: 'available', writes: 1 });

      await orchestrator.close();

      expect(orchestrator.getMetrics().cacheMetrics.processXml.shared?.state).toBe('closed');
    } finally {
      await orchestrator.close();
      await deleteKeys(SHARED_REDIS_URL, keyPrefix);
    }
  });

  describe('with tracing configured', () => {
    let receiver: TestServer;

    beforeAll(async () => {
      receiver = await startTestServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{}');
      });
    });

    afterAll(async () => {
      await receiver.close();
    });

    test('close exports the spans of its own telemetry', async () => {
      const orchestrator = new ServiceOrchestrator(sections({ telemetry: { tracing: { endpoint: `${receiver.url}/v1/traces` } } }));
      await orchestrator.routeTask(task('traced'), {});
      expect(receiver.requests).toHaveLength(0);

      await orchestrator.close();

      const exports = receiver.requests.filter((request) => request.url === '/v1/traces');
      expect(exports.length).toBeGreaterThan(0);
      expect(exports.map((request) => request.body).join('')).toContain('traced');
    });
  });
});
