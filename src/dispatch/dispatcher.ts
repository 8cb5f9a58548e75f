import PQueue from 'p-queue';

import type { RouterConfig } from '../config/types.ts';
import type { Task, TaskOutcome, Variables } from '../engine/types.ts';
import type { Route } from '../routing/route.ts';
import { HandlerModules, runHandler } from './handlers.ts';
import { dispatchHttp, selectVariables, taskMetadata } from './http-dispatch.ts';
import { ServicePools } from './service-pools.ts';

/** Concurrency of the queue that runs in-process handlers. */
const HANDLER_CONCURRENCY = 32;

/**
 * Sends routed tasks to their services through one p-queue per service,
 * whose concurrency is the service's `maxConcurrent`, and runs in-process
 * handlers. Never throws for a task: every problem becomes a failure outcome.
 */
export class Dispatcher {
  readonly #config: RouterConfig;
  readonly #pools: ServicePools;
  readonly #handlers = new HandlerModules();
  readonly #queues = new Map<string, PQueue>();
  readonly #handlerQueue = new PQueue({ concurrency: HANDLER_CONCURRENCY });
  readonly #abort = new AbortController();

  constructor(config: RouterConfig) {
    this.#config = config;
    this.#pools = new ServicePools(config.services);
  }

  /** Dispatches one task along its route; the engine's task priority orders each queue. */
  dispatch(task: Task, variables: Variables, route: Route): Promise<TaskOutcome> {
    if (route.kind === 'handler') {
      return this.#handlerQueue.add(() => this.#runHandler(task, variables, route.module, route.variables), {
        priority: task.priority,
      }) as Promise<TaskOutcome>;
    }

    const service = this.#config.services.get(route.service);
    if (service === undefined) {
      return Promise.resolve({ kind: 'failure', message: `service "${route.service}" is not declared`, details: undefined });
    }
    return this.#queue(route.service).add(() => dispatchHttp(this.#pools, service, route, task, variables), {
      priority: task.priority,
    }) as Promise<TaskOutcome>;
  }

  /** Tasks waiting or running, per service (handlers under `(handlers)`). */
  queueDepths(): Record<string, number> {
    const depths: Record<string, number> = { '(handlers)': this.#handlerQueue.size + this.#handlerQueue.pending };
    for (const [name, queue] of this.#queues) {
      depths[name] = queue.size + queue.pending;
    }
    return depths;
  }

  /** Opens a service's connection pool before its first task. */
  warm(serviceName: string): void {
    if (this.#config.services.has(serviceName)) {
      this.#pools.warm(serviceName);
    }
  }

  /** Waits until every queued and running task has finished. */
  async onIdle(): Promise<void> {
    await Promise.all([this.#handlerQueue.onIdle(), ...[...this.#queues.values()].map((queue) => queue.onIdle())]);
  }

  /**
   * Drops queued tasks and closes the connection pools. Without `force`,
   * requests in flight finish first; with it, they and running handlers are
   * aborted, and their tasks end as failures.
   */
  async close(options: { force?: boolean } = {}): Promise<void> {
    for (const queue of [this.#handlerQueue, ...this.#queues.values()]) {
      queue.clear();
    }
    if (options.force === true) {
      this.#abort.abort();
      await this.#pools.destroy();
      return;
    }
    await this.#pools.close();
    this.#abort.abort();
  }

  async #runHandler(task: Task, variables: Variables, modulePath: string, names: readonly string[] | undefined): Promise<TaskOutcome> {
    let handler;
    try {
      handler = await this.#handlers.get(modulePath);
    } catch (error) {
      return {
        kind: 'failure',
        message: `handler module ${modulePath} failed to load: ${error instanceof Error ? error.message : String(error)}`,
        details: error instanceof Error ? error.stack : undefined,
      };
    }
    const handlerTask = { ...taskMetadata(task), variables: selectVariables(variables, names) };
    return runHandler(handler, modulePath, handlerTask, { signal: this.#abort.signal });
  }

  #queue(serviceName: string): PQueue {
    let queue = this.#queues.get(serviceName);
    if (queue === undefined) {
      const service = this.#config.services.get(serviceName);
      queue = new PQueue({ concurrency: service?.maxConcurrent ?? 1 });
      this.#queues.set(serviceName, queue);
    }
    return queue;
  }
}
