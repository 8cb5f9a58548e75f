import { Client, Variables as ClientVariables, type ExternalTask, type TaskService } from 'camunda-external-task-client-js';

import type { RouterConfig } from '../../config/types.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { EngineAdapter, TaskListener } from '../adapter.ts';
import type { FailureReport, Task, Variables } from '../types.ts';
import { fromExternalTask } from './task.ts';

/** Bounds of the pause between fetches while the engine is unreachable; it doubles from the lower to the upper. */
const MIN_FETCH_BACKOFF_MS = 500;
const MAX_FETCH_BACKOFF_MS = 30_000;

/** Observer of the engine calls made, for metrics. */
export type EngineCallObserver = (call: string, milliseconds: number) => void;

/**
 * Camunda 7 / Operaton adapter over camunda-external-task-client-js: one
 * client long-polls fetch-and-lock for every configured topic; outcomes go
 * back through its task service.
 */
export class Camunda7Adapter implements EngineAdapter {
  readonly #config: RouterConfig;
  readonly #logger: Logger;
  readonly #client: Client;
  readonly #observe: EngineCallObserver;
  #consecutiveFetchErrors = 0;
  #fetchInFlight: Promise<void> | undefined;
  #finishFetch: (() => void) | undefined;

  constructor(config: RouterConfig, logger: Logger, options: { maxParallelTasks: number; observe?: EngineCallObserver }) {
    this.#config = config;
    this.#logger = logger;
    this.#observe = options.observe ?? (() => {});
    const { engine } = config;

    this.#client = new Client({
      baseUrl: engine.baseUrl,
      workerId: engine.workerId,
      maxTasks: engine.maxTasks,
      maxParallelExecutions: options.maxParallelTasks,
      interval: engine.pollIntervalMs,
      lockDuration: engine.lockDurationMs,
      asyncResponseTimeout: engine.asyncResponseTimeoutMs,
      autoPoll: false,
      usePriority: true,
      interceptors: (request) => ({
        ...request,
        headers: { ...(request.headers as Record<string, string> | undefined), ...authHeader(config) },
        retry: { limit: 0 },
        timeout: { request: engine.asyncResponseTimeoutMs + engine.requestTimeoutMs },
      }),
    });
    this.#watchFetches();
  }

  start(listener: TaskListener): void {
    for (const topic of this.#config.topics) {
      this.#client.subscribe(topic.topic, { lockDuration: topic.lockDurationMs }, async ({ task }) => {
        await listener(fromExternalTask(task), readVariables(task));
      });
    }
    this.#logger.debug({ topics: this.#config.topics.map((topic) => topic.topic) }, 'engine adapter subscribed');
    this.#client.start();
  }

  async stopFetching(): Promise<void> {
    this.#client.stop();
    await this.#fetchInFlight;
  }

  complete(task: Task, variables: Variables): Promise<void> {
    return this.#call('complete', (service) => service.complete(task, toClientVariables(variables)));
  }

  bpmnError(task: Task, errorCode: string, message: string | undefined, variables: Variables): Promise<void> {
    return this.#call('bpmnError', (service) => service.handleBpmnError(task, errorCode, message, toClientVariables(variables)));
  }

  fail(task: Task, report: FailureReport): Promise<void> {
    return this.#call('failure', (service) => service.handleFailure(task, {
      errorMessage: report.message,
      errorDetails: report.details,
      retries: report.retries,
      retryTimeout: report.retryTimeoutMs,
    }));
  }

  extendLock(task: Task, durationMs: number): Promise<void> {
    return this.#call('extendLock', (service) => service.extendLock(task, durationMs));
  }

  unlock(task: Task): Promise<void> {
    return this.#call('unlock', (service) => service.unlock(task));
  }

  async #call(name: string, call: (service: TaskService) => Promise<void>): Promise<void> {
    const service = this.#client.taskService;
    const started = performance.now();
    try {
      await call(service);
    } finally {
      this.#observe(name, performance.now() - started);
    }
  }

  /**
   * Tracks the outstanding fetch, and adapts the pause between fetches:
   * none after a full batch or with long polling, the configured interval
   * otherwise, and an exponential backoff with jitter while the engine fails.
   */
  #watchFetches(): void {
    const { engine } = this.#config;
    let fetchStarted = 0;

    this.#client.on('poll:start', () => {
      fetchStarted = performance.now();
      this.#fetchInFlight = new Promise((resolve) => {
        this.#finishFetch = resolve;
      });
    });

    this.#client.on('poll:success', (tasks: unknown[]) => {
      this.#observe('fetchAndLock', performance.now() - fetchStarted);
      if (this.#consecutiveFetchErrors > 0) {
        this.#logger.info({ failedFetches: this.#consecutiveFetchErrors }, 'engine reachable again');
      }
      this.#consecutiveFetchErrors = 0;
      // A long poll already waits for tasks on the engine side, so only a plain fetch needs a pause.
      const waitsOnEngine = engine.asyncResponseTimeoutMs > 0;
      this.#client.options.interval = tasks.length >= engine.maxTasks || waitsOnEngine ? 0 : engine.pollIntervalMs;
      this.#finishFetch?.();
    });

    this.#client.on('poll:error', (error: unknown) => {
      this.#observe('fetchAndLock', performance.now() - fetchStarted);
      this.#consecutiveFetchErrors += 1;
      const base = Math.max(engine.pollIntervalMs, MIN_FETCH_BACKOFF_MS);
      const backoff = Math.min(MAX_FETCH_BACKOFF_MS, base * 2 ** Math.min(this.#consecutiveFetchErrors - 1, 16));
      this.#client.options.interval = Math.round(backoff / 2 + Math.random() * (backoff / 2));
      if (this.#consecutiveFetchErrors === 1) {
        this.#logger.warn({ err: error, retryInMs: this.#client.options.interval }, 'engine fetch failed; backing off until it answers');
      }
      this.#finishFetch?.();
    });
  }
}

function authHeader(config: RouterConfig): Record<string, string> {
  const { auth } = config.engine;
  if (auth === undefined) {
    return {};
  }
  return { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
}

function readVariables(task: ExternalTask): Variables {
  return task.variables.getAll();
}

function toClientVariables(variables: Variables): ClientVariables {
  const converted = new ClientVariables();
  for (const [name, value] of Object.entries(variables)) {
    converted.set(name, value);
  }
  return converted;
}
