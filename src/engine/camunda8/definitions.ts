import type { EngineOptions } from '../../config/types.ts';
import { EngineRequestError } from '../../errors.ts';
import { silentLogger, type Logger } from '../../telemetry/logger.ts';
import { Camunda8RestCaller } from './rest.ts';
import { createCamunda8Clients, type Camunda8Clients } from './sdk.ts';

/** Retries of a definition's XML while the engine responds with 404. */
export interface XmlRetryOptions {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Pause before the second attempt; it doubles with each further attempt. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Right after a deployment the XML endpoint responds with 404 until
 * Camunda's secondary storage has indexed the definition, which takes a few
 * seconds. These defaults wait up to 7.75 s in all (0.25 + 0.5 + 1 + 2 + 4).
 */
export const DEFAULT_XML_RETRY: XmlRetryOptions = Object.freeze({ maxAttempts: 6, initialDelayMs: 250, maxDelayMs: 4_000 });

/**
 * Definition XML from Camunda 8 by process definition key
 * (`GET /v2/process-definitions/{key}/xml`), through the SDK's REST client.
 * A 404 is retried with a doubling pause; any other failure is raised at
 * once. Nothing is cached here: the definition repository caches a
 * definition only once its XML arrived and parsed.
 */
export class Camunda8Definitions {
  readonly #engine: EngineOptions;
  readonly #clients: Camunda8Clients;
  readonly #rest: Camunda8RestCaller;
  readonly #retry: XmlRetryOptions;
  readonly #logger: Logger;
  readonly #stopped = new AbortController();

  constructor(engine: EngineOptions, options: { logger?: Logger; retry?: XmlRetryOptions; clients?: Camunda8Clients } = {}) {
    this.#engine = engine;
    this.#logger = options.logger ?? silentLogger();
    this.#clients = options.clients ?? createCamunda8Clients(engine, this.#logger);
    this.#rest = new Camunda8RestCaller(this.#clients.rest, engine.baseUrl);
    this.#retry = options.retry ?? DEFAULT_XML_RETRY;
  }

  /** Fetches the BPMN XML of the process definition with this key. */
  async definitionXml(definitionKey: string): Promise<string> {
    const started = Date.now();
    for (let attempt = 1, pause = this.#retry.initialDelayMs; ; attempt += 1, pause = Math.min(pause * 2, this.#retry.maxDelayMs)) {
      try {
        return await this.#rest.send({
          name: 'definitionXml',
          method: 'GET',
          path: `process-definitions/${encodeURIComponent(definitionKey)}/xml`,
          timeoutMs: this.#engine.requestTimeoutMs,
        });
      } catch (error) {
        const notFound = error instanceof EngineRequestError && error.status === 404;
        if (!notFound) {
          throw error;
        }
        if (attempt >= this.#retry.maxAttempts || this.#stopped.signal.aborted) {
          throw new EngineRequestError(
            `process definition key "${definitionKey}" not found at GET ${this.#engine.baseUrl}/v2/process-definitions/${definitionKey}/xml after ${attempt} attempts over ${Date.now() - started} ms; check that the process is deployed to this cluster`,
            404,
            { cause: error },
          );
        }
        this.#logger.debug({ definitionId: definitionKey, attempt, retryInMs: pause }, 'definition XML not found yet; retrying');
        await sleep(pause, this.#stopped.signal);
      }
    }
  }

  /** Ends the waits between retries and closes the SDK clients. */
  async close(): Promise<void> {
    this.#stopped.abort();
    this.#rest.cancelAll();
    await this.#clients.close();
  }
}

function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, milliseconds);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
