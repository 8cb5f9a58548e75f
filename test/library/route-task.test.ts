/**
 * ServiceOrchestrator.routeTask() against a real HTTP service, with the
 * definitions from a definition source. Every outcome of a task whose
 * activity ends its process carries `leadsToEnd`. Problems before dispatch
 * come back as a promise and are never thrown. The prediction after each
 * task prepares the next activity again once its cache entry is gone.
 */
import { parseConfig } from '../../src/config/load.ts';
import type { RouterConfig } from '../../src/config/types.ts';
import type { Task } from '../../src/engine/types.ts';
import { ServiceOrchestrator, type RoutedOutcome } from '../../src/orchestrator.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { callingProcess, linearProcess } from '../support/bpmn.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const DEFINITION_ID = 'Ordered:1:route-task';
const CALLING_DEFINITION_ID = 'Calling:1:route-task';

/** A, B and C in sequence, so only C leads to the end event. */
const ORDERED_XML = linearProcess('Ordered', [{ id: 'A', topic: 'ok' }, { id: 'B', topic: 'ok' }, { id: 'C', topic: 'ok' }]);

/** Task A, then a call activity of a process that the definition source cannot look up, then the end. */
const CALLING_XML = callingProcess('Calling', 'Child', 'ok');

interface LogLine {
  level: string;
  msg: string;
  taskId?: string;
}

function task(id: string, topic: string, activityId: string, processDefinitionId = DEFINITION_ID): Task {
  return {
    id, topic, activityId, activityInstanceId: undefined, processInstanceId: `pi-${id}`, processDefinitionId,
    processDefinitionKey: processDefinitionId.split(':')[0], businessKey: undefined, tenantId: undefined, retries: null, priority: 0,
    workerId: 'route-task-test', lockExpiresAt: undefined,
  };
}

/** Polls `condition` every 10 ms for up to 5 s. */
async function waitUntil(condition: () => boolean, description: string): Promise<void> {
  for (let tries = 0; tries < 500; tries += 1) {
    if (condition()) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out after 5 s waiting for ${description}`);
}

describe('ServiceOrchestrator.routeTask', () => {
  let server: TestServer;
  let config: RouterConfig;
  const open: ServiceOrchestrator[] = [];

  beforeAll(async () => {
    server = await startTestServer((request, response) => {
      if (request.url.startsWith('/down')) {
        sendJson(response, 502, { message: 'bad gateway' });
        return;
      }
      if (request.url.startsWith('/rejected')) {
        sendJson(response, 400, { message: 'order rejected' });
        return;
      }
      sendJson(response, 200, { variables: { handled: true } });
    });
    config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
services:
  backend: { baseUrl: '${server.url}', retry: { maxAttempts: 1 } }
  outage: { baseUrl: '${server.url}/down', retry: { maxAttempts: 1 }, breaker: { failureThreshold: 1, openDuration: 1m } }
topics:
  - { topic: ok, service: backend, path: /ok }
  - { topic: rejected, service: backend, path: /rejected }
  - { topic: unavailable, service: outage, path: /any }
`, { env: {} });
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((orchestrator) => orchestrator.close()));
  });

  afterAll(async () => {
    await server.close();
  });

  function orchestratorWith(lines?: LogLine[]): ServiceOrchestrator {
    const logger = lines === undefined ? undefined : createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) } });
    const orchestrator = new ServiceOrchestrator({
      config,
      logger,
      definitionSource: { definitionXml: async (definitionId) => (definitionId === CALLING_DEFINITION_ID ? CALLING_XML : ORDERED_XML) },
    });
    open.push(orchestrator);
    return orchestrator;
  }

  test('leadsToEnd marks every outcome of an ending activity', async () => {
    const orchestrator = orchestratorWith();

    // The first task loads the definition, and the second finds its activity cached.
    const loaded = await orchestrator.routeTask(task('end-loaded', 'ok', 'C'), {});
    const cached = await orchestrator.routeTask(task('end-cached', 'ok', 'C'), {});
    const failed = await orchestrator.routeTask(task('end-failed', 'rejected', 'C'), {});
    const deferred = await orchestrator.routeTask(task('end-deferred', 'unavailable', 'C'), {});

    expect(loaded).toMatchObject({ kind: 'complete', leadsToEnd: true });
    expect(cached).toMatchObject({ kind: 'complete', leadsToEnd: true });
    expect(failed).toMatchObject({ kind: 'failure', retryable: true, leadsToEnd: true });
    expect(deferred).toMatchObject({ kind: 'deferred', reason: 'circuit breaker of service "outage" is open', leadsToEnd: true });
  });

  test('leadsToEnd absent before the last activity', async () => {
    const orchestrator = orchestratorWith();

    const loaded = await orchestrator.routeTask(task('middle-loaded', 'ok', 'B'), {});
    const cached = await orchestrator.routeTask(task('middle-cached', 'ok', 'B'), {});
    const unrouted = await orchestrator.routeTask(task('end-unrouted', 'not-configured', 'C'), {});

    expect(loaded.kind).toBe('complete');
    expect(Object.hasOwn(loaded, 'leadsToEnd')).toBe(false);
    expect(cached.kind).toBe('complete');
    expect(Object.hasOwn(cached, 'leadsToEnd')).toBe(false);
    expect(unrouted).toMatchObject({ kind: 'failure', retryable: false });
    expect(Object.hasOwn(unrouted, 'leadsToEnd')).toBe(false);
  });

  test('problems before dispatch return a promise', async () => {
    const orchestrator = orchestratorWith();
    await orchestrator.routeTask(task('warm-up', 'ok', 'A'), {});
    let unrouted: Promise<RoutedOutcome> | undefined;
    let invalid: Promise<RoutedOutcome> | undefined;

    expect(() => {
      unrouted = orchestrator.routeTask(task('unrouted', 'not-configured', 'A'), {});
    }).not.toThrow();
    expect(() => {
      invalid = orchestrator.routeTask(null as unknown as Task, {});
    }).not.toThrow();

    await expect(unrouted).resolves.toMatchObject({ kind: 'failure', message: 'topic "not-configured" is not configured; add it under topics:', retryable: false });
    await expect(invalid).rejects.toThrow(TypeError);
  });

  test('dropped prediction prepared again', async () => {
    const orchestrator = orchestratorWith();
    const propertiesSize = () => orchestrator.getMetrics().cacheMetrics.properties.size;

    await orchestrator.routeTask(task('first-a', 'ok', 'A'), {});
    await waitUntil(() => propertiesSize() === 2, 'B to be prepared after the first task');
    expect(orchestrator.clearCacheItem('properties', `${DEFINITION_ID}:B`)).toBe(true);
    expect(propertiesSize()).toBe(1);

    // The model contains the definition now, so this task takes the path that prepares only what is missing.
    await orchestrator.routeTask(task('second-a', 'ok', 'A'), {});
    await waitUntil(() => propertiesSize() === 2, 'B to be prepared again after the second task');
    await orchestrator.routeTask(task('second-b', 'ok', 'B'), {});

    const { orchestratorMetrics } = orchestrator.getMetrics();
    expect(orchestratorMetrics.prefetchHitRate).toBeCloseTo(2 / 3, 10);
    expect(orchestratorMetrics.prefetchesUsed).toBe(1);
  });

  test('failed prefetch logged at debug, task unaffected', async () => {
    const lines: LogLine[] = [];
    const orchestrator = orchestratorWith(lines);

    const first = await orchestrator.routeTask(task('calling-first', 'ok', 'A', CALLING_DEFINITION_ID), {});
    await waitUntil(() => orchestrator.getMetrics().predictionMetrics.model.definitions === 1, 'the model to hold the calling definition');
    const second = await orchestrator.routeTask(task('calling-second', 'ok', 'A', CALLING_DEFINITION_ID), {});
    await waitUntil(() => lines.filter((line) => line.msg === 'prediction skipped').length === 2, 'both predictions to be skipped');

    expect(first.kind).toBe('complete');
    expect(second.kind).toBe('complete');
    const skipped = lines.filter((line) => line.msg === 'prediction skipped');
    expect(skipped.map((line) => line.taskId)).toEqual(['calling-first', 'calling-second']);
    expect(skipped.map((line) => line.level)).toEqual(['debug', 'debug']);
  });
});
