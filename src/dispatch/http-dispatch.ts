import { SpanKind } from '@opentelemetry/api';

import type { ServiceOptions } from '../config/types.ts';
import type { Task, TaskOutcome, Variables } from '../engine/types.ts';
import { parseJson as parseJsonText, stringifyJson } from '../lossless-json.ts';
import type { HttpRoute } from '../routing/route.ts';
import { httpClientSpanName, ROUTER, SEMCONV } from '../telemetry/names.ts';
import type { TaskTracing } from '../telemetry/tracing.ts';
import { isTransientError, TRANSIENT_STATUSES } from './retry.ts';
import type { ServicePools, ServiceResponse } from './service-pools.ts';

/** Maximum number of characters of a failed response body kept in the failure details. */
const MAX_DETAILS_CHARS = 4_000;

/** The task metadata sent to services next to the variables; absent values are null so every key is always present. */
export interface TaskMetadata {
  id: string;
  topic: string;
  activityId: string;
  processInstanceId: string;
  processDefinitionId: string;
  processDefinitionKey: string | null;
  businessKey: string | null;
  retries: number | null;
  workerId: string;
  tenantId: string | null;
}

/** Picks the task fields a service receives. */
export function taskMetadata(task: Task): TaskMetadata {
  return {
    id: task.id,
    topic: task.topic,
    activityId: task.activityId,
    processInstanceId: task.processInstanceId,
    processDefinitionId: task.processDefinitionId,
    processDefinitionKey: task.processDefinitionKey ?? null,
    businessKey: task.businessKey ?? null,
    retries: task.retries,
    workerId: task.workerId,
    tenantId: task.tenantId ?? null,
  };
}

/**
 * Returns the `Idempotency-Key` of a task attempt: the task id and the retries the
 * engine reported with the task (`initial` before the first reported
 * failure), e.g. `8c1f…:initial`, then `8c1f…:2`. Redeliveries of the same
 * attempt carry the same key: in-daemon retries, a fetch after an unlock at
 * shutdown or a breaker opening, and a fetch after a lost lock. A reported
 * failure starts a new attempt with a new key.
 */
export function idempotencyKey(task: Task): string {
  return `${task.id}:${task.retries === null ? 'initial' : task.retries}`;
}

/** Keeps only the named variables; undefined names keep all. */
export function selectVariables(variables: Variables, names: readonly string[] | undefined): Variables {
  if (names === undefined) {
    return variables;
  }
  const selected: Variables = {};
  for (const name of names) {
    if (Object.hasOwn(variables, name)) {
      selected[name] = variables[name];
    }
  }
  return selected;
}

/**
 * Calls the route's service for one task and turns the response into an
 * outcome: 2xx completes, a mapped status raises a BPMN error, anything else
 * (other statuses, timeouts, connection errors) is a failure. With tracing
 * on, the request runs in an HTTP client span whose W3C `traceparent` it
 * carries.
 */
export function dispatchHttp(
  pools: ServicePools,
  service: ServiceOptions,
  route: HttpRoute,
  task: Task,
  variables: Variables,
  tracing?: TaskTracing,
): Promise<TaskOutcome> {
  const sendsBody = route.method !== 'GET' && route.method !== 'DELETE';
  const headers = requestHeaders(service, idempotencyKey(task), sendsBody);
  let body: string | undefined;
  try {
    body = sendsBody ? stringifyJson({ variables: selectVariables(variables, route.variables), task: taskMetadata(task) }) : undefined;
  } catch (error) {
    // E.g. a circular structure handed to routeTask(); no request can carry it.
    return Promise.resolve({
      kind: 'failure',
      message: `the variables of task ${task.id} cannot be sent to ${service.name} as JSON: ${(error instanceof Error ? error.message : String(error)).split('\n', 1)[0]}; pass plain JSON values`,
      details: error instanceof Error ? error.message : undefined,
      transient: false,
    });
  }

  if (tracing === undefined || !tracing.enabled) {
    return sendAndInterpret(pools, service, route, headers, body);
  }
  const url = new URL(`${service.baseUrl}${route.path}`);
  const attributes = {
    [SEMCONV.httpRequestMethod]: route.method,
    [SEMCONV.serverAddress]: url.hostname,
    [SEMCONV.serverPort]: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    [SEMCONV.urlFull]: url.href,
    [SEMCONV.urlTemplate]: route.path,
    [ROUTER.service]: service.name,
  };
  return tracing.inSpan(httpClientSpanName(route.method, route.path), { kind: SpanKind.CLIENT, attributes }, async (span) => {
    tracing.injectTraceContext(headers);
    const outcome = await sendAndInterpret(pools, service, route, headers, body, (status) => span.setAttribute(SEMCONV.httpResponseStatusCode, status));
    if (outcome.kind === 'failure') {
      span.setAttribute(SEMCONV.errorType, outcome.transient === true ? 'transient' : 'failure');
    }
    return outcome;
  });
}

async function sendAndInterpret(
  pools: ServicePools,
  service: ServiceOptions,
  route: HttpRoute,
  headers: Record<string, string>,
  body: string | undefined,
  onStatus?: (status: number) => void,
): Promise<TaskOutcome> {
  let response: ServiceResponse;
  try {
    response = await pools.request(service.name, { method: route.method, path: route.path, headers, body });
  } catch (error) {
    return requestFailure(`${route.method} ${service.name}${route.path}`, service, error);
  }

  onStatus?.(response.status);
  const parsed = parseJson(response.body);
  if (!parsed.ok && response.body.length > 0 && response.status >= 200 && response.status < 300 && declaresJson(response.headers['content-type'])) {
    // Completing would drop the result the service meant to send, so the task fails and the engine's retries apply.
    return {
      kind: 'failure',
      message: `${route.method} ${service.name}${route.path} returned HTTP ${response.status} with an invalid JSON body (content-type ${String(response.headers['content-type'])}); fix the service's response or send it as text/plain`,
      details: response.body.slice(0, MAX_DETAILS_CHARS),
      transient: false,
    };
  }
  return interpretResponse(service, route, response.status, parsed, response.body);
}

/** Whether a content-type header names JSON: `application/json` or a `+json` suffix type. */
function declaresJson(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  if (value === undefined) {
    return false;
  }
  const mediaType = value.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** Builds the failure outcome of a request that got no response. */
export function requestFailure(what: string, service: ServiceOptions, error: unknown): TaskOutcome {
  return {
    kind: 'failure',
    message: `${what} failed: ${describeRequestError(error, service.timeoutMs)}`,
    details: error instanceof Error ? error.stack : String(error),
    transient: isTransientError(error),
  };
}

/** Headers of a request to a service, without `authorization`, which the service's pool adds; `idempotencyKey` is omitted for batch requests, whose items carry their own. */
export function requestHeaders(service: ServiceOptions, idempotencyKeyValue: string | undefined, sendsBody: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    ...service.headers,
    accept: 'application/json',
  };
  if (idempotencyKeyValue !== undefined) {
    headers['idempotency-key'] = idempotencyKeyValue;
  }
  if (sendsBody) {
    headers['content-type'] = 'application/json';
  }
  return headers;
}

/**
 * Turns a status and body into an outcome by the downstream contract: 2xx
 * completes, a mapped status raises a BPMN error, any other status fails.
 * `text` is the raw body, kept in failure details and stored in the result
 * variable when it is not JSON.
 */
export function interpretResponse(
  service: ServiceOptions,
  route: HttpRoute,
  status: number,
  parsed: ParsedBody,
  text: string,
): TaskOutcome {
  if (status >= 200 && status < 300) {
    const declared = parsed.ok && isObject(parsed.value) ? parsed.value.variables : undefined;
    if (declared !== undefined && !isObject(declared)) {
      // A service that sends `variables` but not as an object broke the contract; completing would silently drop its result.
      return {
        kind: 'failure',
        message: `${route.method} ${service.name}${route.path} returned HTTP ${status} with "variables" as ${Array.isArray(declared) ? 'an array' : typeof declared}; expected an object of variable names to values`,
        details: text.slice(0, MAX_DETAILS_CHARS),
        transient: false,
      };
    }
    const variables: Variables = parsed.ok ? { ...variablesOf(parsed.value) } : {};
    if (route.resultVariable !== undefined && text.length > 0) {
      variables[route.resultVariable] = parsed.ok ? parsed.value : text;
    }
    return { kind: 'complete', variables };
  }

  const mapping = route.errors.get(status);
  if (mapping !== undefined) {
    const body = parsed.ok && isObject(parsed.value) ? parsed.value : {};
    const message = typeof body.message === 'string' ? body.message : mapping.message;
    return { kind: 'bpmnError', errorCode: mapping.code, message, variables: variablesOf(body) };
  }

  const reason = parsed.ok && isObject(parsed.value) && typeof parsed.value.message === 'string'
    ? `: ${parsed.value.message}`
    : '';
  return {
    kind: 'failure',
    message: `${route.method} ${service.name}${route.path} returned HTTP ${status}${reason}`,
    details: text.length > 0 ? text.slice(0, MAX_DETAILS_CHARS) : undefined,
    transient: TRANSIENT_STATUSES.has(status),
  };
}

function variablesOf(value: unknown): Variables {
  if (isObject(value) && isObject(value.variables)) {
    return value.variables;
  }
  return {};
}

/** A response body after JSON parsing: `ok` is false for an empty or non-JSON body. */
export type ParsedBody = { ok: true; value: unknown } | { ok: false };

export function parseJson(text: string): ParsedBody {
  if (text.length === 0) {
    return { ok: false };
  }
  try {
    return { ok: true, value: parseJsonText(text) };
  } catch {
    return { ok: false };
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describeRequestError(error: unknown, timeoutMs: number): string {
  // Duck-typed: AbortSignal.timeout() rejects with a DOMException, which is not an Error in every realm.
  const { name, code, message, cause } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
  if (
    name === 'TimeoutError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return `timed out after ${timeoutMs} ms`;
  }
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return 'response body larger than the 16 MiB limit';
  }
  const text = typeof message === 'string' ? message : String(error);
  const causeText = cause instanceof Error ? ` (${cause.message})` : '';
  return typeof code === 'string' ? `${code} ${text}${causeText}` : `${text}${causeText}`;
}
