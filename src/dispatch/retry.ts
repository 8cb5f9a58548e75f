import type { RetryOptions } from '../config/types.ts';

/** Error codes of undici and Node that mean the request may not have reached the service or its response got lost. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** HTTP statuses retried inside the daemon: the service or a proxy in front of it is overloaded or down. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * Returns whether a thrown request error is transient: a timeout or a connection
 * error (reset, refused, closed socket). Duck-typed, since
 * `AbortSignal.timeout()` rejects with a DOMException that is not an Error
 * in every realm.
 */
export function isTransientError(error: unknown): boolean {
  const { name, code, cause } = (error ?? {}) as { name?: unknown; code?: unknown; cause?: unknown };
  if (name === 'TimeoutError') {
    return true;
  }
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) {
    return true;
  }
  return cause !== undefined && cause !== error && isTransientError(cause);
}

/**
 * Pause before retry number `retry` (1 for the first retry): the initial
 * delay doubled per retry, capped at the maximum, with "equal jitter" (a
 * random value between half and all of it) so tasks that failed together do
 * not retry together.
 */
export function retryDelay(retry: number, options: RetryOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(retry - 1, 30));
  return Math.round(base / 2 + random() * (base / 2));
}
