/**
 * OTLP/HTTP export to a real receiver on a loopback port, the way Jaeger or
 * an OpenTelemetry Collector receives it, and trace ids on log lines.
 */
import { Writable } from 'node:stream';

import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';

import type { Task } from '../../src/engine/types.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { SPAN } from '../../src/telemetry/names.ts';
import { Telemetry } from '../../src/telemetry/otel.ts';
import { TelemetryRecorder } from '../../src/telemetry/recorder.ts';
import { traceIdOfProcessInstance } from '../../src/telemetry/trace-id.ts';
import { TaskTracing } from '../../src/telemetry/tracing.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const task: Task = {
  id: 'task-1',
  topic: 'reserve-stock',
  activityId: 'ReserveStock',
  activityInstanceId: undefined,
  processInstanceId: 'instance-42',
  processDefinitionId: 'order:1:abc',
  processDefinitionKey: 'order',
  businessKey: undefined,
  tenantId: undefined,
  retries: null,
  priority: 0,
  workerId: 'test-worker',
  lockExpiresAt: undefined,
};

interface OtlpSpan {
  traceId: string;
  name: string;
}

interface OtlpTraces {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

describe('OTLP export', () => {
  let receiver: TestServer;

  beforeEach(async () => {
    receiver = await startTestServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });

  afterEach(async () => {
    await receiver.close();
  });

  test('spans reach the configured endpoint', async () => {
    const telemetry = new Telemetry({
      serviceName: 'otlp-test',
      tracing: { endpoint: `${receiver.url}/v1/traces`, headers: { 'x-tenant': 'test' } },
    });
    const tracing = new TaskTracing(telemetry);

    await tracing.inTask(task, async () => {});
    await telemetry.shutdown();

    const posts = receiver.requests.filter((request) => request.url === '/v1/traces');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.headers['x-tenant']).toBe('test');
    const body = JSON.parse(posts[0]?.body ?? '{}') as OtlpTraces;
    const [resourceSpans] = body.resourceSpans;
    const spans = resourceSpans?.scopeSpans.flatMap((scope) => scope.spans) ?? [];
    const serviceName = resourceSpans?.resource.attributes.find((attribute) => attribute.key === 'service.name');
    expect(serviceName?.value.stringValue).toBe('otlp-test');
    expect(spans.map((span) => span.name)).toEqual([SPAN.task]);
    expect(spans[0]?.traceId).toBe(traceIdOfProcessInstance('instance-42'));
  });

  test('metrics reach the configured endpoint', async () => {
    const telemetry = new Telemetry({ metrics: { otlpEndpoint: `${receiver.url}/v1/metrics`, exportIntervalMs: 60_000 } });
    const recorder = new TelemetryRecorder(telemetry.meter);

    recorder.taskFinished('complete', task, 'inventory');
    await telemetry.forceFlush();
    await telemetry.shutdown();

    const posts = receiver.requests.filter((request) => request.url === '/v1/metrics');
    expect(posts.length).toBeGreaterThanOrEqual(1);
    expect(posts[0]?.body).toContain('bpmn_router.tasks');
  });
});

describe('log lines', () => {
  test('carry trace and span ids inside a task', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    });
    const logger = createLogger({ level: 'info', destination });
    const telemetry = new Telemetry({ tracing: { exporter: new InMemorySpanExporter() } });
    const tracing = new TaskTracing(telemetry);

    logger.info('outside');
    const spanId = await tracing.inTask(task, async (span) => {
      logger.child({ taskId: task.id }).info('inside');
      return span.spanContext().spanId;
    });
    await telemetry.shutdown();

    const [outside, inside] = lines;
    expect(outside?.trace_id).toBeUndefined();
    expect(inside?.trace_id).toBe(traceIdOfProcessInstance('instance-42'));
    expect(inside?.span_id).toBe(spanId);
    expect(inside?.trace_flags).toBe('01');
  });

  test('keep secrets redacted', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const logger = createLogger({ level: 'info', destination });

    logger.info({ auth: { password: 'hunter2' }, headers: { authorization: 'Bearer abc' } }, 'request');

    expect(lines.join('')).not.toContain('hunter2');
    expect(lines.join('')).not.toContain('Bearer abc');
  });
});
