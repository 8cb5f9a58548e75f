import type { EngineOptions } from '../config/types.ts';
import type { FailureReport, Task } from '../engine/types.ts';

/**
 * Decides the retries and retry timeout reported with a failure. The first
 * failure starts from the configured retries; each report takes one off, so
 * the engine raises an incident when they reach zero. The retry timeout
 * doubles with each attempt up to the configured maximum. A failure that a
 * retry cannot fix (`retryable: false`) goes straight to zero retries.
 */
export function failureReport(
  task: Task,
  outcome: { message: string; details: string | undefined; retryable?: boolean },
  policy: EngineOptions['failure'],
): FailureReport {
  const left = task.retries ?? policy.retries;
  const retries = outcome.retryable === false ? 0 : Math.max(0, left - 1);
  const attempt = Math.max(0, policy.retries - left);
  const retryTimeoutMs = Math.min(policy.maxRetryTimeoutMs, policy.retryTimeoutMs * 2 ** Math.min(attempt, 30));

  return {
    message: truncate(outcome.message, 600),
    details: outcome.details,
    retries,
    retryTimeoutMs: retries === 0 ? 0 : retryTimeoutMs,
  };
}

/** The engine stores error messages in a column of limited width; the full text goes in the details. */
function truncate(text: string, maxLength: number): string {
  return text.length <= maxLength ? text : `${text.slice(0, maxLength - 3)}...`;
}
