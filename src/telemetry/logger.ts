import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

import type { LogLevel } from '../config/types.ts';
import { LOG_FIELDS } from './names.ts';

export type { Logger };

/** Field paths whose values never reach a log line. */
const REDACTED_PATHS = [
  'password',
  'token',
  'authorization',
  '*.password',
  '*.token',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

/**
 * Creates the structured JSON logger. Fields carry the ids (taskId, topic,
 * activityId, processInstanceId, definitionId, service); messages stay
 * constant so logs can be searched and counted. A line logged while a span
 * is active (inside a task) also carries `trace_id`, `span_id` and
 * `trace_flags`, so it can be found from the trace and the other way round.
 */
export function createLogger(options: { level?: LogLevel; destination?: DestinationStream; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'bpmn-task-router',
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: activeSpanFields,
    },
    options.destination,
  );
}

/** Returns the active span's ids as log fields, or none outside a span and while tracing is off. */
export function activeSpanFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (span === undefined) {
    return {};
  }
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) {
    return {};
  }
  return {
    [LOG_FIELDS.traceId]: spanContext.traceId,
    [LOG_FIELDS.spanId]: spanContext.spanId,
    [LOG_FIELDS.traceFlags]: spanContext.traceFlags.toString(16).padStart(2, '0'),
  };
}

/** A logger that writes nothing, for library users who pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
