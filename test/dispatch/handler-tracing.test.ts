/**
 * In-process handlers get the same task span as HTTP routes, with a handler
 * child span naming the module, exported through a real OpenTelemetry SDK to
 * an in-memory exporter.
 */
import { resolve } from 'node:path';

import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';

import { parseConfig } from '../../src/config/load.ts';
import type { Task } from '../../src/engine/types.ts';
import { ServiceOrchestrator } from '../../src/orchestrator.ts';
import { SPAN } from '../../src/telemetry/names.ts';
import { Telemetry } from '../../src/telemetry/otel.ts';
import { traceIdOfProcessInstance } from '../../src/telemetry/trace-id.ts';

const DEFINITION_XML = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://example.com/handlers">
  <bpmn:process id="Orders" isExecutable="true">
    <bpmn:serviceTask id="Audit" camunda:type="external" camunda:topic="audit-log" />
    <bpmn:serviceTask id="Fraud" camunda:type="external" camunda:topic="fraud-check" />
  </bpmn:process>
</bpmn:definitions>`;

function task(id: string, topic: string, activityId: string): Task {
  return {
    id, topic, activityId, activityInstanceId: undefined, processInstanceId: `pi-${id}`, processDefinitionId: 'Orders:1:d',
    processDefinitionKey: 'Orders', businessKey: undefined, tenantId: undefined, retries: 3, priority: 0, workerId: 'w', lockExpiresAt: undefined,
  };
}

describe('handler spans', () => {
  const exporter = new InMemorySpanExporter();
  const telemetry = new Telemetry({ serviceName: 'handler-tracing', tracing: { exporter, exportDelayMs: 50 } });
  const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
topics:
  - { topic: audit-log, handler: workers/audit-log.ts }
  - { topic: fraud-check, handler: workers/fraud-check.ts, variables: [orderId, orderTotalCents] }
logging: { level: silent }
`, { env: {}, baseDir: resolve('.') });
  const orchestrator = new ServiceOrchestrator({ config, telemetry, definitionSource: { definitionXml: async () => DEFINITION_XML } });

  afterAll(async () => {
    await orchestrator.close();
    await telemetry.shutdown();
  });

  test('completed handler task has a handler span', async () => {
    const outcome = await orchestrator.routeTask(task('audit-1', 'audit-log', 'Audit'), {});
    await telemetry.forceFlush();

    expect(outcome.kind).toBe('complete');
    const spans = exporter.getFinishedSpans();
    const taskSpan = spans.find((span) => span.name === SPAN.task && span.attributes['bpmn.task.id'] === 'audit-1');
    const handlerSpan = spans.find((span) => span.name === SPAN.handler && span.parentSpanContext?.spanId === taskSpan?.spanContext().spanId);
    expect(taskSpan?.spanContext().traceId).toBe(traceIdOfProcessInstance('pi-audit-1'));
    expect(taskSpan?.attributes['bpmn_router.outcome']).toBe('complete');
    expect(handlerSpan?.attributes['code.file.path']).toMatch(/workers\/audit-log\.ts$/);
  });

  test('failing handler marks its task span', async () => {
    const outcome = await orchestrator.routeTask(task('fraud-1', 'fraud-check', 'Fraud'), { orderId: 'o-9' });
    await telemetry.forceFlush();

    expect(outcome.kind).toBe('failure');
    const spans = exporter.getFinishedSpans();
    const taskSpan = spans.find((span) => span.name === SPAN.task && span.attributes['bpmn.task.id'] === 'fraud-1');
    const handlerSpan = spans.find((span) => span.name === SPAN.handler && span.parentSpanContext?.spanId === taskSpan?.spanContext().spanId);
    expect(taskSpan?.attributes['bpmn_router.outcome']).toBe('failure');
    expect(taskSpan?.status.code).toBe(2);
    expect(handlerSpan).toBeDefined();
  });
});
