import type { FailureReport, Task, Variables } from './types.ts';

/** Called for every task the engine hands out; resolves once its outcome was reported. */
export type TaskListener = (task: Task, variables: Variables) => Promise<void>;

/**
 * What the daemon needs of an engine. One implementation per engine; code
 * above this interface speaks only of tasks and outcomes.
 */
export interface EngineAdapter {
  /** Subscribes to the configured topics and starts fetching tasks. */
  start(listener: TaskListener): void;
  /** Stops fetching; resolves once no fetch request is outstanding, so no task gets locked after it. */
  stopFetching(): Promise<void>;
  complete(task: Task, variables: Variables): Promise<void>;
  bpmnError(task: Task, errorCode: string, message: string | undefined, variables: Variables): Promise<void>;
  fail(task: Task, report: FailureReport): Promise<void>;
  extendLock(task: Task, durationMs: number): Promise<void>;
  /** Gives a task back to the engine without reporting an outcome. */
  unlock(task: Task): Promise<void>;
}

/** Classifies an engine call error: transient ones are worth retrying while the lock lasts. */
export function isTransientEngineError(error: unknown): boolean {
  const status = (error as { httpStatusCode?: unknown; status?: unknown }).httpStatusCode
    ?? (error as { status?: unknown }).status;
  if (typeof status === 'number') {
    return status === 429 || status === 502 || status === 503 || status === 504;
  }
  return true;
}
