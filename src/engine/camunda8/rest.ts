import type { CamundaRestClient } from '@camunda8/sdk';

import { EngineRequestError } from '../../errors.ts';
import { stringifyJson } from '../../lossless-json.ts';
import { errorTypeOf, type CallResult } from '../../telemetry/recorder.ts';
import type { EngineCallObserver } from '../adapter.ts';

/** Maximum length of an error body kept in a message. */
const MAX_BODY_CHARS = 500;

/** One call of the Orchestration Cluster REST API (v2); `path` is relative to `/v2/`. */
export interface RestCall {
  /** Name in metrics, e.g. `complete`. */
  name: string;
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: Record<string, unknown>;
  timeoutMs: number;
}

/** The parts of a got HTTP error that the SDK passes on. */
interface HttpErrorLike {
  response?: { statusCode?: number; body?: unknown };
}

/**
 * Makes REST calls through the SDK's `CamundaRestClient`, which adds the
 * authentication headers (OAuth token or basic auth), the user agent and the
 * TLS settings. This class adds a timeout that cancels the request, and
 * turns every failure into an
 * {@link EngineRequestError} whose `status` is the HTTP status, or undefined
 * when no response arrived.
 *
 * Response bodies come back as text, so the caller parses them without
 * losing integers beyond 2^53 (the SDK's own parser rejects those).
 */
export class Camunda8RestCaller {
  readonly #client: CamundaRestClient;
  readonly #baseUrl: string;
  readonly #observe: EngineCallObserver;
  readonly #pending = new Set<{ cancel(): void }>();

  constructor(client: CamundaRestClient, baseUrl: string, observe?: EngineCallObserver) {
    this.#client = client;
    this.#baseUrl = baseUrl;
    this.#observe = observe ?? (() => {});
  }

  /** Sends the call and resolves with the response body as text. */
  async send(call: RestCall): Promise<string> {
    const url = `${this.#baseUrl}/v2/${call.path}`;
    const started = performance.now();
    // The SDK serialises bodies with lossless-json, which writes a bigint as its digits.
    const request = this.#client.callApiEndpoint({ method: call.method, urlPath: call.path, body: call.body, json: false });
    this.#pending.add(request);

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        request.cancel();
        reject(new EngineRequestError(`${call.method} ${url} timed out after ${call.timeoutMs} ms; check that the engine is reachable, or raise engine.requestTimeout`));
      }, call.timeoutMs);
    });

    let result: CallResult = { errorType: 'Error' };
    try {
      const text = await Promise.race([request, timedOut]);
      // The SDK resolves only for a 2xx response and does not expose which one.
      result = { status: 200 };
      return text;
    } catch (error) {
      const failure = this.#toEngineError(call, url, error);
      result = failure.status === undefined ? { errorType: errorTypeOf(error) } : { status: failure.status };
      throw failure;
    } finally {
      clearTimeout(timer);
      this.#pending.delete(request);
      this.#observe(call.name, performance.now() - started, result);
    }
  }

  /** Cancels the requests still outstanding; their promises stay pending, so callers must not wait for them. */
  cancelAll(): void {
    for (const request of this.#pending) {
      request.cancel();
    }
    this.#pending.clear();
  }

  #toEngineError(call: RestCall, url: string, error: unknown): EngineRequestError {
    if (error instanceof EngineRequestError) {
      return error;
    }
    const status = (error as HttpErrorLike | undefined)?.response?.statusCode;
    if (status === 401 || status === 403) {
      return new EngineRequestError(`${call.method} ${url} was rejected with HTTP ${status}; check engine.auth`, status, { cause: error });
    }
    if (typeof status === 'number') {
      const body = (error as HttpErrorLike).response?.body;
      return new EngineRequestError(`${call.method} ${url} returned HTTP ${status}: ${problemMessage(body)}`, status, { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new EngineRequestError(`${call.method} ${url} failed: ${reason}; check that the engine is running and engine.baseUrl is right`, undefined, { cause: error });
  }
}

/** Extracts `title: detail` from an RFC 9457 problem body, or returns the start of any other body. */
export function problemMessage(body: unknown): string {
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : stringifyJson(body ?? '');
  try {
    const problem = JSON.parse(text) as { title?: unknown; detail?: unknown };
    if (typeof problem.detail === 'string') {
      return typeof problem.title === 'string' ? `${problem.title}: ${problem.detail}` : problem.detail;
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  const trimmed = text.trim();
  if (trimmed === '') {
    return '(empty response body)';
  }
  return trimmed.length > MAX_BODY_CHARS ? `${trimmed.slice(0, MAX_BODY_CHARS)}…` : trimmed;
}
