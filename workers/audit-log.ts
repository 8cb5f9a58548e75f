/**
 * In-process handler of the `audit-log` topic of the example order process:
 * the daemon calls it instead of an HTTP service and completes the task with
 * the variables it returns.
 */
import type { HandlerContext, HandlerResult, HandlerTask } from '../src/dispatch/handlers.ts';

/**
 * Completes the task with `auditedAt`, the current time as an ISO 8601
 * string. Throws the signal's reason when the daemon aborted the task before
 * it ran.
 */
export default async function handle(_task: HandlerTask, context: HandlerContext): Promise<HandlerResult> {
  context.signal.throwIfAborted();

  return { outcome: 'complete', variables: { auditedAt: new Date().toISOString() } };
}
