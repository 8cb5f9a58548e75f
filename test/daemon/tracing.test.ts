/**
 * Traces on the real engine: two daemons, each serving one of the two
 * service tasks of a process, put every task of an instance in one trace,
 * and the downstream service receives that trace's W3C traceparent.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';

import { parseConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { countProcessInstances, deployBpmn, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { SPAN } from '../../src/telemetry/names.ts';
import { Telemetry } from '../../src/telemetry/otel.ts';
import { traceIdOfProcessInstance } from '../../src/telemetry/trace-id.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const INSTANCES = 3;

interface Replica {
  daemon: Daemon;
  telemetry: Telemetry;
  exporter: InMemorySpanExporter;
}

/** Parses a W3C traceparent header into its trace id and parent span id. */
function parseTraceparent(header: string | string[] | undefined): { traceId: string; spanId: string } | undefined {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(typeof header === 'string' ? header : '');
  return match === null ? undefined : { traceId: match[1] as string, spanId: match[2] as string };
}

describe('traces across two daemons', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Traced');
  let service: TestServer;
  const replicas: Replica[] = [];

  function startReplica(name: string, topic: string): Replica {
    const config = parseConfig(`
engine: { baseUrl: ${url}, workerId: ${key}-${name}, asyncResponseTimeout: 1s }
services:
  backend: { baseUrl: '${service.url}', timeout: 5s }
topics:
  - { topic: ${topic}, service: backend, path: /${name} }
`, { env: {} });
    const exporter = new InMemorySpanExporter();
    const telemetry = new Telemetry({ serviceName: name, tracing: { exporter, exportDelayMs: 100 } });
    const daemon = new Daemon({ config, logger: createLogger({ level: 'silent' }), telemetry });
    daemon.start();
    const replica = { daemon, telemetry, exporter };
    replicas.push(replica);
    return replica;
  }

  beforeAll(async () => {
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: {} }));
    await deployBpmn(url, [{
      name: `${key}.bpmn`,
      xml: linearProcess(key, [{ id: 'First', topic: `${key}-first` }, { id: 'Second', topic: `${key}-second` }]),
    }]);
  });

  afterAll(async () => {
    await Promise.all(replicas.map(async (replica) => {
      await replica.daemon.stop(5_000);
      await replica.telemetry.shutdown();
    }));
    await service.close();
  });

  test('instance spans share one trace and reach the service', async () => {
    const first = startReplica('first', `${key}-first`);
    const second = startReplica('second', `${key}-second`);
    const instanceIds: string[] = [];
    for (let index = 0; index < INSTANCES; index += 1) {
      instanceIds.push((await startProcessInstance(url, key)).id);
    }

    await waitFor(async () => (await countProcessInstances(url, key)).finished === INSTANCES, {
      timeoutMs: 60_000,
      description: `${INSTANCES} finished instances`,
    });
    await Promise.all([first.telemetry.forceFlush(), second.telemetry.forceFlush()]);

    const spans: ReadableSpan[] = [...first.exporter.getFinishedSpans(), ...second.exporter.getFinishedSpans()];
    for (const instanceId of instanceIds) {
      const traceId = traceIdOfProcessInstance(instanceId);
      const taskSpans = spans.filter((span) => span.name === SPAN.task && span.attributes['bpmn.process_instance.id'] === instanceId);
      const traced = spans.filter((span) => span.spanContext().traceId === traceId);

      // One task span per service task, one from each daemon, both in the instance's trace.
      expect(taskSpans.map((span) => span.attributes['bpmn.activity.id']).sort()).toEqual(['First', 'Second']);
      expect(taskSpans.map((span) => span.resource.attributes['service.name']).sort()).toEqual(['first', 'second']);
      expect(taskSpans.every((span) => span.spanContext().traceId === traceId)).toBe(true);

      for (const taskSpan of taskSpans) {
        const children = traced.filter((span) => span.parentSpanContext?.spanId === taskSpan.spanContext().spanId).map((span) => span.name).sort();
        expect(children).toEqual([SPAN.definitionLookup, SPAN.engineReport, `POST /${taskSpan.attributes['bpmn.activity.id'] === 'First' ? 'first' : 'second'}`, SPAN.route].sort());
        expect(taskSpan.attributes['bpmn_router.outcome']).toBe('complete');
      }
    }
  });

  test('service receives the client span as parent', async () => {
    const spans: ReadableSpan[] = replicas.flatMap((replica) => replica.exporter.getFinishedSpans());
    const clientSpans = new Map(spans.filter((span) => span.name.startsWith('POST /')).map((span) => [span.spanContext().spanId, span]));

    expect(service.requests).toHaveLength(2 * INSTANCES);
    for (const request of service.requests) {
      const parent = parseTraceparent(request.headers.traceparent);
      const clientSpan = clientSpans.get(parent?.spanId ?? '');
      const body = JSON.parse(request.body) as { task: { processInstanceId: string } };

      expect(parent?.traceId).toBe(traceIdOfProcessInstance(body.task.processInstanceId));
      expect(clientSpan?.attributes['http.response.status_code']).toBe(200);
      expect(clientSpan?.attributes['server.address']).toBe('127.0.0.1');
    }
  });
});
