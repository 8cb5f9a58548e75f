/**
 * Trace ids derived from process instance ids. The expected values are
 * fixed: changing the derivation would split the traces of instances that
 * run across a rolling upgrade, so a change here must be deliberate.
 */
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';

import type { Task } from '../../src/engine/types.ts';
import { SPAN } from '../../src/telemetry/names.ts';
import { Telemetry } from '../../src/telemetry/otel.ts';
import { ProcessInstanceIdGenerator, traceIdOfProcessInstance } from '../../src/telemetry/trace-id.ts';
import { TaskTracing } from '../../src/telemetry/tracing.ts';

function task(id: string, processInstanceId: string): Task {
  return {
    id,
    topic: 'reserve-stock',
    activityId: 'ReserveStock',
    activityInstanceId: undefined,
    processInstanceId,
    processDefinitionId: 'order:1:abc',
    processDefinitionKey: 'order',
    businessKey: 'order-1',
    tenantId: undefined,
    retries: null,
    priority: 0,
    workerId: 'test-worker',
    lockExpiresAt: undefined,
  };
}

describe('traceIdOfProcessInstance', () => {
  test('returns fixed values for known ids', () => {
    expect(traceIdOfProcessInstance('8c1f2a6e-3d4b-11ef-9a1c-0242ac120002')).toBe('e151986dcc76c2689418a11347d04a3a');
    expect(traceIdOfProcessInstance('42')).toBe('128148976f8d13eca46052ad8cd84031');
  });

  test('returns 32 lowercase hex digits', () => {
    for (const id of ['', 'a', 'ü-instance', 'x'.repeat(10_000)]) {
      expect(traceIdOfProcessInstance(id)).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  test('differs between instances', () => {
    const ids = new Set(Array.from({ length: 1_000 }, (_, index) => traceIdOfProcessInstance(`instance-${index}`)));

    expect(ids.size).toBe(1_000);
  });
});

describe('ProcessInstanceIdGenerator', () => {
  test('hands the named trace id out once', () => {
    const generator = new ProcessInstanceIdGenerator();

    const named = generator.withTraceId('0af7651916cd43dd8448eb211c80319c', () => generator.generateTraceId());
    const next = generator.generateTraceId();

    expect(named).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(next).toMatch(/^[0-9a-f]{32}$/);
    expect(next).not.toBe(named);
  });

  test('forgets the named id when the callback throws', () => {
    const generator = new ProcessInstanceIdGenerator();

    expect(() => generator.withTraceId('0af7651916cd43dd8448eb211c80319c', () => {
      throw new Error('start failed');
    })).toThrow('start failed');
    expect(generator.generateTraceId()).not.toBe('0af7651916cd43dd8448eb211c80319c');
  });
});

describe('task spans', () => {
  test('two replicas put one instance in one trace', async () => {
    // Two Telemetry objects, each with its own tracer provider, act as two replicas.
    const exporters = [new InMemorySpanExporter(), new InMemorySpanExporter()];
    const replicas = exporters.map((exporter) => new Telemetry({ tracing: { exporter } }));
    const [first, second] = replicas.map((telemetry) => new TaskTracing(telemetry)) as [TaskTracing, TaskTracing];

    await first.inTask(task('task-1', 'instance-7'), async () => {});
    await second.inTask(task('task-2', 'instance-7'), async () => {});
    await second.inTask(task('task-3', 'instance-8'), async () => {});
    await Promise.all(replicas.map((telemetry) => telemetry.forceFlush()));

    const spans = exporters.flatMap((exporter) => exporter.getFinishedSpans());
    const traceOf = (taskId: string) => spans.find((span) => span.attributes['bpmn.task.id'] === taskId)?.spanContext().traceId;
    expect(spans.map((span) => span.name)).toEqual([SPAN.task, SPAN.task, SPAN.task]);
    expect(traceOf('task-1')).toBe(traceIdOfProcessInstance('instance-7'));
    expect(traceOf('task-2')).toBe(traceIdOfProcessInstance('instance-7'));
    expect(traceOf('task-3')).toBe(traceIdOfProcessInstance('instance-8'));
    await Promise.all(replicas.map((telemetry) => telemetry.shutdown()));
  });

  test('steps nest under the task span', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = new Telemetry({ tracing: { exporter } });
    const tracing = new TaskTracing(telemetry);

    await tracing.inTask(task('task-1', 'instance-1'), async () => {
      await tracing.inSpan(SPAN.route, {}, async () => {});
      // A nested call for the same task reuses its span.
      await tracing.inTask(task('task-1', 'instance-1'), async () => {});
    });
    await telemetry.forceFlush();

    const spans = exporter.getFinishedSpans();
    const root = spans.find((span) => span.name === SPAN.task);
    const route = spans.find((span) => span.name === SPAN.route);
    expect(spans).toHaveLength(2);
    expect(root?.parentSpanContext).toBeUndefined();
    expect(route?.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
    expect(route?.spanContext().traceId).toBe(traceIdOfProcessInstance('instance-1'));
    await telemetry.shutdown();
  });

  test('sampling decides per instance', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = new Telemetry({ tracing: { exporter, sampleRatio: 0.5 } });
    const tracing = new TaskTracing(telemetry);

    for (let instance = 0; instance < 40; instance += 1) {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await tracing.inTask(task(`task-${instance}-${attempt}`, `instance-${instance}`), async () => {});
      }
    }
    await telemetry.forceFlush();

    const perInstance = new Map<string, number>();
    for (const span of exporter.getFinishedSpans()) {
      const instance = String(span.attributes['bpmn.process_instance.id']);
      perInstance.set(instance, (perInstance.get(instance) ?? 0) + 1);
    }
    expect(perInstance.size).toBeGreaterThan(0);
    expect(perInstance.size).toBeLessThan(40);
    expect([...perInstance.values()].every((count) => count === 3)).toBe(true);
    await telemetry.shutdown();
  });

  test('sends traceparent of the active span', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = new Telemetry({ tracing: { exporter } });
    const tracing = new TaskTracing(telemetry);

    const headers = await tracing.inTask(task('task-1', 'instance-3'), async (span) => ({
      headers: tracing.injectTraceContext({}),
      spanId: span.spanContext().spanId,
    }));

    expect(headers.headers.traceparent).toBe(`00-${traceIdOfProcessInstance('instance-3')}-${headers.spanId}-01`);
    await telemetry.shutdown();
  });

  test('disabled tracing sends no traceparent', async () => {
    const tracing = new TaskTracing(Telemetry.disabled());

    const headers = await tracing.inTask(task('task-1', 'instance-3'), async () => tracing.injectTraceContext({}));

    expect(headers).toEqual({});
  });
});
