/**
 * The connectivity checks of `doctor`: the engine, each declared service,
 * Redis and the telemetry endpoints. Each check returns one verdict and
 * never throws; a failure's detail names the address and what to fix.
 */
import { Redis } from 'ioredis';
import { request } from 'undici';

import type { RedisOptions, RouterConfig, ServiceOptions } from '../config/types.ts';
import { serviceAuthorization } from '../dispatch/service-auth.ts';
import { Camunda7Rest } from '../engine/camunda7/rest.ts';
import { EngineRequestError } from '../errors.ts';

/**
 * Verdict of one check. `ok` passed, and `warn` needs a look but does not
 * fail the run. `fail` makes `doctor` exit 1. `skip` could not run, because
 * the check does not apply or an earlier check failed.
 */
export type Verdict = 'ok' | 'warn' | 'fail' | 'skip';

/** The outcome of one check, printed as one line. */
export interface CheckResult {
  /** Short name such as `engine` or `service payments`. */
  name: string;
  verdict: Verdict;
  detail: string;
}

/** HTTP statuses that a gateway returns when the service behind it is down. */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

/** Upper bound of one reachability request, below the configured timeouts when those are longer. */
const MAX_CHECK_TIMEOUT_MS = 10_000;

/** The engine check's result, with the version that later checks report. */
export interface EngineCheck extends CheckResult {
  version: string | undefined;
}

/** Reads the engine's version with the configured credentials: reachable, version, auth accepted. */
export async function checkEngine(config: RouterConfig): Promise<EngineCheck> {
  const { engine } = config;
  if (engine.type !== 'camunda7') {
    return { name: 'engine', verdict: 'skip', detail: `doctor checks camunda7 engines only; engine.type is ${engine.type}`, version: undefined };
  }

  const rest = new Camunda7Rest(engine);
  try {
    const version = await rest.version();
    const auth = engine.auth?.type === 'basic' ? `basic auth as ${engine.auth.username} accepted` : 'no auth configured';
    return { name: 'engine', verdict: 'ok', detail: `version ${version} at ${engine.baseUrl}, ${auth}`, version };
  } catch (error) {
    return { name: 'engine', verdict: 'fail', detail: engineFailure(error, config), version: undefined };
  } finally {
    await rest.close();
  }
}

function engineFailure(error: unknown, config: RouterConfig): string {
  if (error instanceof EngineRequestError && (error.status === 401 || error.status === 403)) {
    const { auth } = config.engine;
    return auth?.type === 'basic'
      ? `${config.engine.baseUrl} rejected the credentials of ${auth.username} (HTTP ${error.status}); check engine.auth`
      : `${config.engine.baseUrl} requires authentication (HTTP ${error.status}); set engine.auth`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Sends `HEAD` to the service's base URL with its auth and headers. Any HTTP
 * response counts as reachable, except 502, 503 and 504, which the daemon
 * treats as the service being down. 401 and 403 are a warning, since the
 * base URL may need other rights than the routes.
 */
export async function checkService(service: ServiceOptions): Promise<CheckResult> {
  const name = `service ${service.name}`;
  let authorization: string | undefined;
  try {
    authorization = await serviceAuthorization(service).header();
  } catch (error) {
    return { name, verdict: 'fail', detail: error instanceof Error ? error.message : String(error) };
  }
  const headers: Record<string, string> = authorization === undefined ? { ...service.headers } : { ...service.headers, authorization };
  const status = await reach(service.baseUrl, headers, Math.min(service.timeoutMs, MAX_CHECK_TIMEOUT_MS));

  if (typeof status === 'string') {
    return { name, verdict: 'fail', detail: `${service.baseUrl} is not reachable: ${status}` };
  }
  if (UNAVAILABLE_STATUSES.has(status)) {
    return { name, verdict: 'fail', detail: `${service.baseUrl} returned HTTP ${status}: the service is unavailable` };
  }
  if (status === 401 || status === 403) {
    return { name, verdict: 'warn', detail: `${service.baseUrl} returned HTTP ${status}; check services.${service.name}.auth` };
  }
  return { name, verdict: 'ok', detail: `${service.baseUrl} returned HTTP ${status}` };
}

/**
 * Sends `HEAD` to the OTLP/HTTP endpoint. A receiver rejects methods other
 * than POST with 405, so any response but 404 counts as reachable. 404 is a
 * warning, since the path is likely wrong.
 */
export async function checkTelemetryEndpoint(name: string, endpoint: string, headers: Readonly<Record<string, string>>): Promise<CheckResult> {
  const status = await reach(endpoint, { ...headers }, MAX_CHECK_TIMEOUT_MS);
  if (typeof status === 'string') {
    return { name, verdict: 'fail', detail: `${endpoint} is not reachable: ${status}` };
  }
  if (status === 404) {
    return { name, verdict: 'warn', detail: `${endpoint} returned HTTP 404; check the path, usually /v1/traces or /v1/metrics` };
  }
  return { name, verdict: 'ok', detail: `${endpoint} returned HTTP ${status}` };
}

/** Returns the HTTP status of a `HEAD` request, or the reason why no response arrived. */
async function reach(url: string, headers: Record<string, string>, timeoutMs: number): Promise<number | string> {
  try {
    const response = await request(url, { method: 'HEAD', headers, signal: AbortSignal.timeout(timeoutMs) });
    await response.body.dump();
    return response.statusCode;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'TimeoutError') {
      return `timed out after ${timeoutMs} ms`;
    }
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
  }
}

/** Connects to Redis with the configured timeouts and sends PING; reports the server's version. */
export async function checkRedis(options: RedisOptions): Promise<CheckResult> {
  const where = redactedUrl(options.url);
  const client = new Redis(options.url, {
    password: options.password,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: Math.max(options.commandTimeoutMs, 1_000),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Connection errors also reach the rejected connect() below; this keeps them off the unhandled-error path.
  client.on('error', () => undefined);

  try {
    await client.connect();
    const pong = await client.ping();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    return { name: 'redis', verdict: 'ok', detail: `${where} returned ${pong} to PING, Redis ${version}` };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { name: 'redis', verdict: 'fail', detail: `${where} is not reachable: ${message}; the daemon would read every definition from the engine` };
  } finally {
    client.disconnect();
  }
}

/** Masks the password of a URL such as redis://:secret@host, so the line can be shared. */
function redactedUrl(value: string): string {
  if (!URL.canParse(value)) {
    return value;
  }
  const url = new URL(value);
  if (url.password !== '') {
    url.password = '***';
  }
  return url.href;
}
