import { pathToFileURL } from 'node:url';

import type { TaskOutcome, Variables } from '../engine/types.ts';
import { RouterError } from '../errors.ts';
import type { TaskMetadata } from './http-dispatch.ts';
import { isTransientError } from './retry.ts';

/** What an in-process handler module receives: the task metadata and its selected variables. */
export interface HandlerTask extends TaskMetadata {
  variables: Variables;
}

/** Context passed to handlers next to the task. */
export interface HandlerContext {
  /** Aborted when the daemon is forced to stop. */
  signal: AbortSignal;
}

/**
 * What a handler returns. Returning nothing completes the task without
 * variables; throwing fails it with the error's message. A failure with
 * `transient: true`, or a thrown timeout or connection error (an error whose
 * `code` is such as `ECONNRESET`), is retried inside the daemon like a
 * transient HTTP error.
 */
export type HandlerResult =
  | void
  | undefined
  | { outcome: 'complete'; variables?: Variables }
  | { outcome: 'bpmnError'; errorCode: string; message?: string; variables?: Variables }
  | { outcome: 'failure'; message: string; details?: string; transient?: boolean };

/** The function a handler module exports, as `default` or as `handle`. */
export type TaskHandler = (task: HandlerTask, context: HandlerContext) => HandlerResult | Promise<HandlerResult>;

/** Loads handler modules once each and keeps them. */
export class HandlerModules {
  readonly #loaded = new Map<string, Promise<TaskHandler>>();

  get(modulePath: string): Promise<TaskHandler> {
    let handler = this.#loaded.get(modulePath);
    if (handler === undefined) {
      handler = load(modulePath);
      this.#loaded.set(modulePath, handler);
      handler.catch(() => this.#loaded.delete(modulePath));
    }
    return handler;
  }
}

async function load(modulePath: string): Promise<TaskHandler> {
  const module = (await import(pathToFileURL(modulePath).href)) as { default?: unknown; handle?: unknown };
  const handler = typeof module.default === 'function' ? module.default : module.handle;
  if (typeof handler !== 'function') {
    throw new RouterError(
      'ERR_HANDLER_MODULE',
      `handler module ${modulePath} exports no function: export a default function or one named "handle"`,
    );
  }
  return handler as TaskHandler;
}

/** Runs a handler and converts what it returns or throws into an outcome. */
export async function runHandler(
  handler: TaskHandler,
  modulePath: string,
  task: HandlerTask,
  context: HandlerContext,
): Promise<TaskOutcome> {
  let result: HandlerResult;
  try {
    result = await handler(task, context);
  } catch (error) {
    return {
      kind: 'failure',
      message: `handler ${modulePath} threw: ${error instanceof Error ? error.message : String(error)}`,
      details: error instanceof Error ? error.stack : undefined,
      transient: isTransientError(error),
    };
  }

  if (result === undefined || result === null) {
    return { kind: 'complete', variables: {} };
  }
  switch (result.outcome) {
    case 'complete':
      return { kind: 'complete', variables: result.variables ?? {} };
    case 'bpmnError':
      return { kind: 'bpmnError', errorCode: result.errorCode, message: result.message, variables: result.variables ?? {} };
    case 'failure':
      return { kind: 'failure', message: result.message, details: result.details, transient: result.transient === true };
    default:
      return {
        kind: 'failure',
        message: `handler ${modulePath} returned an unknown outcome ${JSON.stringify((result as { outcome?: unknown }).outcome)}: use complete, bpmnError or failure`,
        details: undefined,
      };
  }
}
