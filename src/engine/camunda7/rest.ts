import { Pool, type Dispatcher } from 'undici';

import type { EngineOptions } from '../../config/types.ts';
import { EngineRequestError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { engineAuthorization, type EngineAuthorization } from './auth.ts';

/** Largest definition XML accepted from the engine. */
const MAX_XML_RESPONSE_BYTES = 32 * 1024 * 1024;

/** A deployed process definition as the engine lists it. */
export interface DeployedDefinition {
  id: string;
  key: string;
  version: number;
}

/**
 * The Camunda 7 / Operaton REST calls for definitions, over one keep-alive
 * pool: definition XML, the list of deployed definitions and the engine
 * version. Task polling and outcome reports go through
 * `Camunda7Adapter` in adapter.ts.
 */
export class Camunda7Rest {
  readonly #engine: EngineOptions;
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #auth: EngineAuthorization;

  constructor(engine: EngineOptions, options: { logger?: Logger } = {}) {
    this.#engine = engine;
    const url = new URL(engine.baseUrl);
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#pool = new Pool(url.origin, { connections: 8, maxResponseSize: MAX_XML_RESPONSE_BYTES });
    this.#auth = engineAuthorization(engine.auth, { timeoutMs: engine.requestTimeoutMs, logger: options.logger });
  }

  /** Fetches the BPMN XML of a process definition by id (`GET /process-definition/{id}/xml`). */
  async definitionXml(definitionId: string): Promise<string> {
    const body = await this.#getJson(`/process-definition/${encodeURIComponent(definitionId)}/xml`, `process definition "${definitionId}"`);
    const xml = (body as { bpmn20Xml?: unknown }).bpmn20Xml;
    if (typeof xml !== 'string') {
      throw new EngineRequestError(`the engine returned no bpmn20Xml for process definition "${definitionId}"`);
    }
    return xml;
  }

  /**
   * Returns the id of the latest version of a process definition key, of the
   * given tenant (`GET /process-definition/key/{key}/tenant-id/{tenantId}`)
   * or of no tenant (`GET /process-definition/key/{key}`).
   */
  async latestDefinitionId(processKey: string, tenantId?: string): Promise<string> {
    const tenant = tenantId === undefined ? '' : `/tenant-id/${encodeURIComponent(tenantId)}`;
    const what = `process definition key "${processKey}"${tenantId === undefined ? '' : ` of tenant "${tenantId}"`}`;
    const body = await this.#getJson(`/process-definition/key/${encodeURIComponent(processKey)}${tenant}`, what);
    const id = (body as { id?: unknown }).id;
    if (typeof id !== 'string') {
      throw new EngineRequestError(`the engine returned no id for process definition key "${processKey}"`);
    }
    return id;
  }

  /**
   * Lists one page of the latest version of every deployed process definition
   * (`GET /process-definition?latestVersion=true`), ordered by key.
   */
  async latestDefinitions(firstResult: number, maxResults: number): Promise<DeployedDefinition[]> {
    const body = await this.#getJson(
      `/process-definition?latestVersion=true&sortBy=key&sortOrder=asc&firstResult=${firstResult}&maxResults=${maxResults}`,
      'process definitions',
    );
    if (!Array.isArray(body)) {
      throw new EngineRequestError('the engine returned no list of process definitions');
    }
    return (body as { id?: unknown; key?: unknown; version?: unknown }[])
      .filter((entry) => typeof entry.id === 'string' && typeof entry.key === 'string')
      .map((entry) => ({ id: entry.id as string, key: entry.key as string, version: Number(entry.version) }));
  }

  /** Reads the engine's version (`GET /version`). */
  async version(): Promise<string> {
    const body = await this.#getJson('/version', 'version');
    return String((body as { version?: unknown }).version);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #getJson(path: string, what: string): Promise<unknown> {
    const url = `${this.#engine.baseUrl}${path}`;
    let authorization = await this.#auth.header();
    let response = await this.#get(url, path, authorization);
    if (response.statusCode === 401 && this.#auth.rejected(authorization)) {
      // A bearer token the engine no longer accepts: one more try with a new one.
      await response.body.dump();
      authorization = await this.#auth.header();
      response = await this.#get(url, path, authorization);
    }

    const text = await response.body.text();
    if (response.statusCode === 404) {
      throw new EngineRequestError(`${what} not found at GET ${url}`, 404);
    }
    if (response.statusCode === 401 || response.statusCode === 403) {
      throw new EngineRequestError(`GET ${url} was rejected with HTTP ${response.statusCode}; check engine.auth`, response.statusCode);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new EngineRequestError(`GET ${url} returned HTTP ${response.statusCode}: ${text.slice(0, 500)}`, response.statusCode);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new EngineRequestError(`GET ${url} returned a body that is not JSON: ${text.slice(0, 200)}`, response.statusCode);
    }
  }

  async #get(url: string, path: string, authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (authorization !== undefined) {
      headers.authorization = authorization;
    }
    try {
      return await this.#pool.request({
        method: 'GET',
        path: `${this.#basePath}${path}`,
        headers,
        signal: AbortSignal.timeout(this.#engine.requestTimeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new EngineRequestError(`GET ${url} failed: ${reason}; check that the engine is running and engine.baseUrl is right`, undefined, { cause: error });
    }
  }
}
