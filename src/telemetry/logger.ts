import { pino, type DestinationStream, type Logger } from 'pino';

import type { LogLevel } from '../config/types.ts';

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
 * constant so logs can be searched and counted.
 */
export function createLogger(options: { level?: LogLevel; destination?: DestinationStream; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'bpmn-task-router',
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** A logger that writes nothing, for library users who pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
