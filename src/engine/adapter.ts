import { EngineRequestError, VariableTypeError } from '../errors.ts';
import type { CallResult } from '../telemetry/recorder.ts';
import type { DefinitionVersion, FailureReport, FetchRequest, FetchedTask, Task, TaskLock, Variables } from './types.ts';

/**
 * What the daemon needs of an engine. One implementation per engine; code
 * above this interface speaks only of tasks and outcomes. Every call rejects
 * with {@link EngineRequestError}; its `status` is undefined when no HTTP
 * response arrived.
 */
export interface EngineAdapter {
  /** Locks and returns up to `request.maxTasks` tasks of the given topics. */
  fetchAndLock(request: FetchRequest): Promise<FetchedTask[]>;
  complete(task: Task, variables: Variables): Promise<void>;
  bpmnError(task: Task, errorCode: string, message: string | undefined, variables: Variables): Promise<void>;
  fail(task: Task, report: FailureReport): Promise<void>;
  /** Sets the task's lock to expire `durationMs` from now. */
  extendLock(task: Task, durationMs: number): Promise<void>;
  /** Gives a task back to the engine without reporting an outcome. */
  unlock(task: Task): Promise<void>;
  /** Reads who holds a task's lock now; undefined when the task no longer exists. */
  lockOf(taskId: string): Promise<TaskLock | undefined>;
  /**
   * Called when the daemon begins to stop fetching. An adapter that
   * receives tasks without being asked (a job stream) stops that here, gives
   * back what it received but did not hand out, and lets an outstanding
   * fetch that waits for such tasks return at once.
   */
  stopFetching?(): Promise<void>;
  /**
   * Lists the latest definition of each given process key (one per tenant);
   * unknown keys are left out. Optional: without it the daemon does not
   * watch for new definition versions.
   */
  latestDefinitions?(processKeys: readonly string[]): Promise<DefinitionVersion[]>;
  /** Closes the connections. Safe to call twice. */
  close(): Promise<void>;
}

/** Observer of the engine calls made, for metrics: the call's name, its duration and its HTTP status or error type. */
export type EngineCallObserver = (call: string, milliseconds: number, result: CallResult) => void;

/** Classifies an engine call error: transient ones (no response, 429, 502, 503, 504) are worth retrying while the lock lasts. */
export function isTransientEngineError(error: unknown): boolean {
  const status = error instanceof EngineRequestError
    ? error.status
    : (error as { httpStatusCode?: unknown; status?: unknown } | undefined)?.status;
  if (typeof status === 'number') {
    return status === 429 || status === 502 || status === 503 || status === 504;
  }
  return true;
}

/**
 * Returns whether the engine rejected a call on a task with a client error
 * (400, 404 or 409), or an adapter rejected it before sending because a
 * variable has no engine type. The engine rejects a call when the task no
 * longer exists, when another worker holds its lock, when the task is no
 * longer in a state that accepts the call (Camunda 8 responds with 409
 * then), and for invalid requests. The daemon then reads the task's lock to
 * tell these apart.
 */
export function isRejectedTaskCall(error: unknown): boolean {
  return error instanceof VariableTypeError
    || (error instanceof EngineRequestError && (error.status === 400 || error.status === 404 || error.status === 409));
}

/**
 * Returns whether the engine rejected a call because another transaction
 * changed the same data at the same time. Operaton 1.0.3 returns HTTP 500
 * with the type `OptimisticLockingException` then, for example when parallel
 * branches of one process instance complete at once. The engine rolled the
 * call back, so repeating it is safe.
 */
export function isEngineConflict(error: unknown): boolean {
  return error instanceof EngineRequestError && error.engineErrorType === 'OptimisticLockingException';
}
