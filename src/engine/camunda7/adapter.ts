import { Pool } from 'undici';

import type { EngineOptions } from '../../config/types.ts';
import { EngineRequestError, VariableTypeError } from '../../errors.ts';
import { parseJson, stringifyJson } from '../../lossless-json.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { errorTypeOf } from '../../telemetry/recorder.ts';
import type { EngineAdapter, EngineCallObserver } from '../adapter.ts';
import type { DefinitionVersion, FailureReport, FetchRequest, FetchTopic, FetchedTask, Task, TaskLock, Variables } from '../types.ts';
import { engineAuthorization, type EngineAuthorization } from './auth.ts';
import { parseEngineError } from './error-body.ts';
import { fromExternalTask, type ExternalTaskJson } from './task.ts';
import { fromRestVariables, toRestVariables, type FetchedType, type FileVariable, type RestVariable } from './variables.ts';

/** Largest fetch-and-lock response or `File` variable accepted: 1000 tasks with their variables. */
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
  variables?: Record<string, RestVariable>;
}

interface RawResponse {
  status: number;
  body: Buffer;
}

export interface Camunda7AdapterOptions {
  /**
   * Bounds the keep-alive pool. Each fetch loop keeps one connection busy
   * during its long poll, so it must exceed the number of loops.
   */
  connections: number;
  observe?: EngineCallObserver;
  logger?: Logger;
}

/**
 * Camunda 7 / Operaton adapter: the external-task calls of the REST API over
 * one undici keep-alive pool. The daemon's fetch loops decide what to fetch
 * and when; this class only makes the calls. Each call rejects with
 * {@link EngineRequestError}, whose `status` is the HTTP status, or
 * undefined when no response arrived; `complete` and `bpmnError` reject with
 * {@link VariableTypeError}, before any request, for a variable that has no
 * engine type.
 */
export class Camunda7Adapter implements EngineAdapter {
  readonly #engine: EngineOptions;
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #auth: EngineAuthorization;
  readonly #observe: EngineCallObserver;
  /** The engine types of each fetched task's variables, so results of the same name keep them. */
  readonly #fetchedTypes = new WeakMap<Task, ReadonlyMap<string, FetchedType>>();

  constructor(engine: EngineOptions, options: Camunda7AdapterOptions) {
    this.#engine = engine;
    const url = new URL(engine.baseUrl);
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#pool = new Pool(url.origin, {
      connections: options.connections,
      keepAliveTimeout: KEEP_ALIVE_MS,
      maxResponseSize: MAX_RESPONSE_BYTES,
    });
    this.#auth = engineAuthorization(engine.auth, { timeoutMs: engine.requestTimeoutMs, logger: options.logger });
    this.#observe = options.observe ?? (() => {});
  }

  /** Access tokens requested so far under `engine.auth` of type oauth2. */
  get tokenRequests(): number {
    return this.#auth.tokenRequests;
  }

  /**
   * `POST /external-task/fetchAndLock`, ordered by task priority, with each
   * topic's filters and variable selection. The content of `File` variables
   * is loaded after the fetch, one request per file.
   */
  async fetchAndLock(request: FetchRequest): Promise<FetchedTask[]> {
    const body = {
      workerId: this.#engine.workerId,
      maxTasks: request.maxTasks,
      usePriority: true,
      asyncResponseTimeout: request.longPollMs > 0 ? request.longPollMs : undefined,
      topics: request.topics.map((topic) => this.#topicInstruction(topic)),
    };
    const timeoutMs = request.longPollMs + this.#engine.requestTimeoutMs;
    const tasks = await this.#call('fetchAndLock', 'POST', '/external-task/fetchAndLock', body, timeoutMs) as ExternalTaskWithVariables[];
    const localOnly = new Set(request.topics.filter((topic) => topic.localVariables === true).map((topic) => topic.topic));
    return Promise.all(tasks.map((task) => this.#read(task, localOnly.has(task.topicName))));
  }

  async complete(task: Task, variables: Variables): Promise<void> {
    const typed = toRestVariables(variables, this.#fetchedTypes.get(task));
    await this.#taskCall('complete', task, { workerId: this.#engine.workerId, variables: typed });
  }

  async bpmnError(task: Task, errorCode: string, message: string | undefined, variables: Variables): Promise<void> {
    const typed = toRestVariables(variables, this.#fetchedTypes.get(task));
    await this.#taskCall('bpmnError', task, {
      workerId: this.#engine.workerId,
      errorCode,
      errorMessage: message,
      variables: typed,
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

  /** One topic of the fetch-and-lock body, in the REST API's names. */
  #topicInstruction(topic: FetchTopic): Record<string, unknown> {
    return {
      topicName: topic.topic,
      lockDuration: topic.lockDurationMs,
      variables: topic.variables,
      localVariables: topic.localVariables === true ? true : undefined,
      tenantIdIn: topic.tenantIds,
      withoutTenantId: topic.withoutTenantId === true ? true : undefined,
      processDefinitionKeyIn: topic.processDefinitionKeys,
      processDefinitionVersionTag: topic.processDefinitionVersionTag,
      businessKey: topic.businessKey,
      includeExtensionProperties: this.#engine.includeExtensionProperties ? true : undefined,
    };
  }

  /** Converts a fetched task; a variable that cannot be read becomes the task's `variablesError`. */
  async #read(json: ExternalTaskWithVariables, localOnly: boolean): Promise<FetchedTask> {
    const task = fromExternalTask(json);
    if (this.#engine.includeExtensionProperties) {
      task.activityProperties = Object.freeze({ ...json.extensionProperties });
    }
    try {
      const read = fromRestVariables(json.variables);
      for (const name of read.files) {
        (read.variables[name] as FileVariable).content = (await this.#fileContent(json, name, localOnly)).toString('base64');
      }
      this.#fetchedTypes.set(task, read.types);
      return { task, variables: read.variables };
    } catch (error) {
      if (!(error instanceof VariableTypeError) && !(error instanceof EngineRequestError)) {
        throw error;
      }
      return { task, variables: {}, variablesError: error.message };
    }
  }

  /**
   * Loads the content of a `File` variable: from the task's execution
   * (`GET /execution/{id}/localVariables/{name}/data`), and when it is not
   * there from the process instance (`GET /process-instance/{id}/variables/{name}/data`).
   */
  async #fileContent(task: ExternalTaskWithVariables, name: string, localOnly: boolean): Promise<Buffer> {
    const variable = encodeURIComponent(name);
    const paths = [`/execution/${encodeURIComponent(task.executionId ?? '')}/localVariables/${variable}/data`];
    if (!localOnly) {
      paths.push(`/process-instance/${encodeURIComponent(task.processInstanceId)}/variables/${variable}/data`);
    }

    for (const path of paths) {
      const response = await this.#request('fileContent', 'GET', path, undefined, this.#engine.requestTimeoutMs);
      if (response.status === 404) {
        continue;
      }
      this.#checkStatus('GET', path, response);
      return response.body;
    }
    // NOTE: a File variable of an intermediate scope (an embedded sub-process) is found in neither place.
    throw new EngineRequestError(
      `the content of File variable "${name}" of task ${task.id} was found neither in the task's execution nor in its process instance; move the variable to one of these scopes`,
      404,
    );
  }

  #taskCall(name: string, task: Task, body: unknown): Promise<unknown> {
    return this.#call(name, 'POST', `/external-task/${encodeURIComponent(task.id)}/${name}`, body, this.#engine.requestTimeoutMs);
  }

  /** Makes a call and returns its parsed JSON body, or undefined for an empty one. */
  async #call(name: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    // Every request declares a JSON content type, so a POST without parameters sends `{}`.
    let payload: string | undefined;
    if (body !== undefined) {
      payload = stringifyJson(body);
    } else if (method === 'POST') {
      payload = '{}';
    }

    const response = await this.#request(name, method, path, payload, timeoutMs);
    this.#checkStatus(method, path, response);
    if (response.status === 204 || response.body.length === 0) {
      return undefined;
    }
    const text = response.body.toString('utf8');
    try {
      return parseJson(text);
    } catch {
      throw new EngineRequestError(`${method} ${this.#engine.baseUrl}${path} returned a body that is not JSON: ${text.slice(0, 200)}`, response.status);
    }
  }

  #checkStatus(method: string, path: string, response: RawResponse): void {
    const url = `${this.#engine.baseUrl}${path}`;
    if (response.status === 401 || response.status === 403) {
      throw new EngineRequestError(`${method} ${url} was rejected with HTTP ${response.status}; check engine.auth`, response.status);
    }
    if (response.status < 200 || response.status >= 300) {
      const error = parseEngineError(response.body.toString('utf8'));
      throw new EngineRequestError(`${method} ${url} returned HTTP ${response.status}: ${error.message}`, response.status, { engineErrorType: error.type });
    }
  }

  /**
   * Sends one request with the engine's authorization. A 401 under a bearer
   * token is retried once with a new token, since the engine may reject a
   * token before the expiry its issuer announced.
   */
  async #request(name: string, method: 'GET' | 'POST', path: string, payload: string | undefined, timeoutMs: number): Promise<RawResponse> {
    let authorization = await this.#auth.header();
    let response = await this.#send(name, method, path, payload, timeoutMs, authorization);
    if (response.status === 401 && this.#auth.rejected(authorization)) {
      authorization = await this.#auth.header();
      response = await this.#send(name, method, path, payload, timeoutMs, authorization);
    }
    return response;
  }

  async #send(name: string, method: 'GET' | 'POST', path: string, payload: string | undefined, timeoutMs: number, authorization: string | undefined): Promise<RawResponse> {
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
    if (authorization !== undefined) {
      headers.authorization = authorization;
    }

    const started = performance.now();
    let status: number | undefined;
    let errorType: string | undefined;
    try {
      const response = await this.#pool.request({
        method,
        path: `${this.#basePath}${path}`,
        headers,
        body: payload,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = response.statusCode;
      return { status, body: Buffer.from(await response.body.arrayBuffer()) };
    } catch (error) {
      errorType = errorTypeOf(error);
      const reason = error instanceof Error ? error.message : String(error);
      throw new EngineRequestError(`${method} ${this.#engine.baseUrl}${path} failed: ${reason}; check that the engine is running and engine.baseUrl is right`, undefined, { cause: error });
    } finally {
      this.#observe(name, performance.now() - started, status === undefined ? { errorType: errorType ?? 'Error' } : { status });
    }
  }
}
