import type { ServiceOptions } from '../config/types.ts';
import type { Task, TaskOutcome, Variables } from '../engine/types.ts';
import type { HttpRoute } from '../routing/route.ts';
import type { ServicePools, ServiceResponse } from './service-pools.ts';

/** Longest part of a failed response body kept in the failure details. */
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
 * (other statuses, timeouts, connection errors) is a failure.
 */
export async function dispatchHttp(
  pools: ServicePools,
  service: ServiceOptions,
  route: HttpRoute,
  task: Task,
  variables: Variables,
): Promise<TaskOutcome> {
  const selected = selectVariables(variables, route.variables);
  const sendsBody = route.method !== 'GET' && route.method !== 'DELETE';

  let response: ServiceResponse;
  try {
    response = await pools.request(service.name, {
      method: route.method,
      path: route.path,
      headers: requestHeaders(service, task, sendsBody),
      body: sendsBody ? JSON.stringify({ variables: selected, task: taskMetadata(task) }) : undefined,
    });
  } catch (error) {
    return {
      kind: 'failure',
      message: `${route.method} ${service.name}${route.path} failed: ${describeRequestError(error, service.timeoutMs)}`,
      details: error instanceof Error ? error.stack : String(error),
    };
  }

  return interpretResponse(service, route, response);
}

function requestHeaders(service: ServiceOptions, task: Task, sendsBody: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    ...service.headers,
    accept: 'application/json',
    'idempotency-key': task.id,
  };
  if (sendsBody) {
    headers['content-type'] = 'application/json';
  }
  if (service.auth?.type === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${service.auth.username}:${service.auth.password}`).toString('base64')}`;
  } else if (service.auth?.type === 'bearer') {
    headers.authorization = `Bearer ${service.auth.token}`;
  }
  return headers;
}

function interpretResponse(service: ServiceOptions, route: HttpRoute, response: ServiceResponse): TaskOutcome {
  const { status } = response;
  const parsed = parseJson(response.body);

  if (status >= 200 && status < 300) {
    const variables: Variables = parsed.ok ? { ...variablesOf(parsed.value) } : {};
    if (route.resultVariable !== undefined && response.body.length > 0) {
      variables[route.resultVariable] = parsed.ok ? parsed.value : response.body;
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
    details: response.body.length > 0 ? response.body.slice(0, MAX_DETAILS_CHARS) : undefined,
  };
}

function variablesOf(value: unknown): Variables {
  if (isObject(value) && isObject(value.variables)) {
    return value.variables;
  }
  return {};
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.length === 0) {
    return { ok: false };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
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
