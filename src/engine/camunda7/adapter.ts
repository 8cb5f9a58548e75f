import { Pool } from 'undici';

import type { EngineOptions } from '../../config/types.ts';
import { EngineRequestError } from '../../errors.ts';
import { errorTypeOf } from '../../telemetry/recorder.ts';
import type { EngineAdapter, EngineCallObserver } from '../adapter.ts';
import type { DefinitionVersion, FailureReport, FetchRequest, FetchedTask, Task, TaskLock, Variables } from '../types.ts';
import { fromExternalTask, type ExternalTaskJson } from './task.ts';
import { fromTypedValues, toTypedValues, type TypedValue } from './variables.ts';
import { engineErrorMessage } from './error-body.ts';

/** Largest fetch-and-lock response accepted: 1000 tasks with their variables. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Idle time after which a keep-alive connection to the engine is closed. */
const KEEP_ALIVE_MS = 30_000;

/** Process keys per definition query, so the query string stays short. */
const KEYS_PER_QUERY = 50;

/** Most definitions one query may return: a latest version per key and tenant. */
const MAX_DEFINITIONS_PER_QUERY = 1_000;

interface ProcessDefinitionJson {
  id: string;
  key: string;
  version: number;
  tenantId?: string | null;
}

interface ExternalTaskWithVariables extends ExternalTaskJson {
  variables?: Record<string, TypedValue>;
}

/**
 * Camunda 7 / Operaton adapter: the external-task calls of the REST API over
 * one undici keep-alive pool. The daemon's fetch loops decide what to fetch
 * and when; this class only makes the calls. Each call rejects with
 * {@link EngineRequestError}, whose `status` is the HTTP status, or
 * undefined when no response arrived.
 */
export class Camunda7Adapter implements EngineAdapter {
  readonly #engine: EngineOptions;
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #headers: Record<string, string>;
  readonly #observe: EngineCallObserver;

  /**
   * `connections` bounds the keep-alive pool. Each fetch loop keeps one
   * connection busy during its long poll, so it must exceed the number of loops.
   */
  constructor(engine: EngineOptions, options: { connections: number; observe?: EngineCallObserver }) {
    this.#engine = engine;
    const url = new URL(engine.baseUrl);
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#pool = new Pool(url.origin, {
      connections: options.connections,
      keepAliveTimeout: KEEP_ALIVE_MS,
      maxResponseSize: MAX_RESPONSE_BYTES,
    });
    this.#headers = { accept: 'application/json', 'content-type': 'application/json' };
    if (engine.auth?.type === 'basic') {
      this.#headers.authorization = `Basic ${Buffer.from(`${engine.auth.username}:${engine.auth.password}`).toString('base64')}`;
    }
    this.#observe = options.observe ?? (() => {});
  }

  /** `POST /external-task/fetchAndLock`, ordered by task priority. */
  async fetchAndLock(request: FetchRequest): Promise<FetchedTask[]> {
    const body = {
      workerId: this.#engine.workerId,
      maxTasks: request.maxTasks,
      usePriority: true,
      asyncResponseTimeout: request.longPollMs > 0 ? request.longPollMs : undefined,
      topics: request.topics.map((topic) => ({ topicName: topic.topic, lockDuration: topic.lockDurationMs })),
    };
    const timeoutMs = request.longPollMs + this.#engine.requestTimeoutMs;
    const tasks = await this.#call('fetchAndLock', 'POST', '/external-task/fetchAndLock', body, timeoutMs) as ExternalTaskWithVariables[];
    return tasks.map((task) => ({ task: fromExternalTask(task), variables: fromTypedValues(task.variables) }));
  }

  async complete(task: Task, variables: Variables): Promise<void> {
    await this.#taskCall('complete', task, { workerId: this.#engine.workerId, variables: toTypedValues(variables) });
  }

  async bpmnError(task: Task, errorCode: string, message: string | undefined, variables: Variables): Promise<void> {
    await this.#taskCall('bpmnError', task, {
      workerId: this.#engine.workerId,
      errorCode,
      errorMessage: message,
      variables: toTypedValues(variables),
    });
  }

  async fail(task: Task, report: FailureReport): Promise<void> {
    await this.#taskCall('failure', task, {
      workerId: this.#engine.workerId,
      errorMessage: report.message,
      errorDetails: report.details,
      retries: report.retries,
      retryTimeout: report.retryTimeoutMs,
    });
  }

  async extendLock(task: Task, durationMs: number): Promise<void> {
    await this.#taskCall('extendLock', task, { workerId: this.#engine.workerId, newDuration: durationMs });
  }

  async unlock(task: Task): Promise<void> {
    await this.#taskCall('unlock', task, undefined);
  }

  /** `GET /external-task/{id}`: the task's current lock, or undefined when the task no longer exists. */
  async lockOf(taskId: string): Promise<TaskLock | undefined> {
    try {
      const task = await this.#call('lockOf', 'GET', `/external-task/${encodeURIComponent(taskId)}`, undefined, this.#engine.requestTimeoutMs) as ExternalTaskJson;
      const expiresAt = task.lockExpirationTime ? Date.parse(task.lockExpirationTime) : Number.NaN;
      return { workerId: task.workerId ?? undefined, expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt };
    } catch (error) {
      if (error instanceof EngineRequestError && error.status === 404) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * `GET /process-definition?keysIn=...&latestVersion=true`, in queries of
   * {@link KEYS_PER_QUERY} keys. The engine returns the latest version per
   * key and tenant.
   */
  async latestDefinitions(processKeys: readonly string[]): Promise<DefinitionVersion[]> {
    const versions: DefinitionVersion[] = [];
    for (let start = 0; start < processKeys.length; start += KEYS_PER_QUERY) {
      const query = new URLSearchParams({
        keysIn: processKeys.slice(start, start + KEYS_PER_QUERY).join(','),
        latestVersion: 'true',
        maxResults: String(MAX_DEFINITIONS_PER_QUERY),
      });
      const definitions = await this.#call('latestDefinitions', 'GET', `/process-definition?${query.toString()}`, undefined, this.#engine.requestTimeoutMs) as ProcessDefinitionJson[];
      for (const definition of definitions) {
        versions.push({ processKey: definition.key, definitionId: definition.id, version: definition.version, tenantId: definition.tenantId ?? undefined });
      }
    }
    return versions;
  }

  /** Closes the pool; an outstanding long poll is aborted. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#pool.closed && !this.#pool.destroyed) {
      await this.#pool.destroy();
    }
  }

  #taskCall(name: string, task: Task, body: unknown): Promise<unknown> {
    return this.#call(name, 'POST', `/external-task/${encodeURIComponent(task.id)}/${name}`, body, this.#engine.requestTimeoutMs);
  }

  async #call(name: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const url = `${this.#engine.baseUrl}${path}`;
    const started = performance.now();
    // Every request declares a JSON content type, so a POST without parameters sends `{}`.
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
    } else if (method === 'POST') {
      payload = '{}';
    }

    let status: number | undefined;
    let text: string;
    let errorType: string | undefined;
    try {
      const response = await this.#pool.request({
        method,
        path: `${this.#basePath}${path}`,
        headers: this.#headers,
        body: payload,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      errorType = errorTypeOf(error);
      const reason = error instanceof Error ? error.message : String(error);
      throw new EngineRequestError(`${method} ${url} failed: ${reason}; check that the engine is running and engine.baseUrl is right`, undefined, { cause: error });
    } finally {
      this.#observe(name, performance.now() - started, status === undefined ? { errorType: errorType ?? 'Error' } : { status });
    }

    if (status === 401 || status === 403) {
      throw new EngineRequestError(`${method} ${url} was refused with HTTP ${status}; check engine.auth`, status);
    }
    if (status < 200 || status >= 300) {
      throw new EngineRequestError(`${method} ${url} returned HTTP ${status}: ${engineErrorMessage(text)}`, status);
    }
    if (status === 204 || text.length === 0) {
      return undefined;
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new EngineRequestError(`${method} ${url} returned a body that is not JSON: ${text.slice(0, 200)}`, status);
    }
  }
}
