/**
 * In-process handler of the `audit-log` topic of the example order process:
 * the daemon calls it instead of an HTTP service and completes the task with
 * the variables it returns.
 */

// TODO: replace these types with HandlerTask, HandlerContext and HandlerResult
// of src/dispatch/handlers.ts. They follow the request contract of downstream
// services, and test/demo/example-processes.test.ts checks that `handle` is
// assignable to TaskHandler.

/** The external task handed to a handler: the `task` object of the service request plus the selected variables. */
export interface HandlerTask {
  id: string;
  topic: string;
  activityId: string;
  processInstanceId: string;
  processDefinitionId: string;
  processDefinitionKey: string | null;
  businessKey: string | null;
  retries: number | null;
  workerId: string;
  tenantId: string | null;
  /** Process variables selected for the task, as plain JSON values. */
  variables: Readonly<Record<string, unknown>>;
}

/** Context that the daemon passes to a handler besides the task. */
export interface HandlerContext {
  /** Signal that the daemon aborts to cancel the task. */
  signal?: AbortSignal;
}

/** Result that completes the task and sets the returned variables on the process. */
export interface CompleteResult {
  outcome: 'complete';
  variables: Record<string, unknown>;
}

/**
 * Completes the task with `auditedAt`, the current time as an ISO 8601
 * string. Throws the signal's reason when the daemon aborted the task before
 * it ran.
 */
export default async function handle(task: HandlerTask, context: HandlerContext): Promise<CompleteResult> {
  context.signal?.throwIfAborted();

  return { outcome: 'complete', variables: { auditedAt: new Date().toISOString() } };
}
