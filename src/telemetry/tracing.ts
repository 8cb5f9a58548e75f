/**
 * Spans of the task pipeline: one root span per task, whose trace id is
 * derived from the process instance id, and child spans for its steps.
 */
import {
  context,
  createContextKey,
  defaultTextMapSetter,
  INVALID_SPAN_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';

import type { Task } from '../engine/types.ts';
import { BPMN, ROUTER, SPAN } from './names.ts';
import type { Telemetry } from './otel.ts';
import { traceIdOfProcessInstance } from './trace-id.ts';

/** Context entry holding the id of the task whose span is active, so nested callers reuse that span. */
const TASK_ID_KEY = createContextKey('bpmn_router.task.id');

/** The span handed to callbacks while tracing is off: it records nothing. */
const NON_RECORDING_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Options of a child span. */
export interface StepSpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
}

/**
 * Starts and ends the pipeline's spans. With tracing off every method still
 * runs its callback, with a span that records nothing, and touches no
 * context, so tracing costs nothing per task then.
 */
export class TaskTracing {
  readonly #telemetry: Telemetry | undefined;

  constructor(telemetry?: Telemetry) {
    this.#telemetry = telemetry?.tracingEnabled === true ? telemetry : undefined;
  }

  get enabled(): boolean {
    return this.#telemetry !== undefined;
  }

  /**
   * Runs `run` inside the task's root span and ends the span when it
   * settles. The span's trace id is derived from the process instance id,
   * so all tasks of one instance share a trace. Called again for the same
   * task inside `run`, it reuses the span instead of starting another.
   */
  async inTask<T>(task: Task, run: (span: Span) => Promise<T>): Promise<T> {
    const telemetry = this.#telemetry;
    if (telemetry === undefined) {
      return run(NON_RECORDING_SPAN);
    }
    const active = context.active();
    const activeSpan = trace.getSpan(active);
    if (activeSpan !== undefined && active.getValue(TASK_ID_KEY) === task.id) {
      return run(activeSpan);
    }

    const traceId = traceIdOfProcessInstance(task.processInstanceId);
    const span = telemetry.ids.withTraceId(traceId, () => telemetry.tracer.startSpan(SPAN.task, {
      root: true,
      kind: SpanKind.CONSUMER,
      attributes: taskAttributes(task),
    }));
    const taskContext = trace.setSpan(active, span).setValue(TASK_ID_KEY, task.id);
    return context.with(taskContext, () => runInSpan(span, run));
  }

  /**
   * Runs `run` inside a child span of the active span and ends it when
   * `run` settles. Outside a span it starts none, so no step becomes the
   * root of a trace of its own.
   */
  inSpan<T>(name: string, options: StepSpanOptions, run: (span: Span) => Promise<T>): Promise<T> {
    if (this.#telemetry === undefined || trace.getSpan(context.active()) === undefined) {
      return run(NON_RECORDING_SPAN);
    }
    const span = this.#telemetry.tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes });
    return context.with(trace.setSpan(context.active(), span), () => runInSpan(span, run));
  }

  /** Adds the active span's W3C `traceparent` (and `tracestate`) to a request's headers; adds nothing without a sampled or valid span. */
  injectTraceContext(headers: Record<string, string>): Record<string, string> {
    this.#telemetry?.propagator.inject(context.active(), headers, defaultTextMapSetter);
    return headers;
  }
}

/** Returns the attributes of a task's root span. */
export function taskAttributes(task: Task): Attributes {
  const attributes: Attributes = {
    [BPMN.taskId]: task.id,
    [BPMN.topic]: task.topic,
    [BPMN.activityId]: task.activityId,
    [BPMN.processInstanceId]: task.processInstanceId,
    [BPMN.processDefinitionId]: task.processDefinitionId,
  };
  if (task.processDefinitionKey !== undefined) {
    attributes[BPMN.processDefinitionKey] = task.processDefinitionKey;
  }
  if (task.businessKey !== undefined) {
    attributes[BPMN.businessKey] = task.businessKey;
  }
  if (task.retries !== null) {
    attributes[BPMN.taskRetries] = task.retries;
  }
  return attributes;
}

/** Sets a task span's outcome attributes; a failure also sets the span's status to error. */
export function recordOutcome(span: Span, outcome: { kind: string; message?: string; errorCode?: string; retryable?: boolean }, service?: string): void {
  span.setAttribute(ROUTER.outcome, outcome.kind);
  if (service !== undefined) {
    span.setAttribute(ROUTER.service, service);
  }
  if (outcome.errorCode !== undefined) {
    span.setAttribute(BPMN.errorCode, outcome.errorCode);
  }
  if (outcome.retryable !== undefined) {
    span.setAttribute(ROUTER.retryable, outcome.retryable);
  }
  if (outcome.kind === 'failure') {
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message });
  }
}

async function runInSpan<T>(span: Span, run: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await run(span);
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}
