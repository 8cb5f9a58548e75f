/**
 * A small client for the Operaton / Camunda 7 REST API, used by the tests and
 * the demo: deploy BPMN, start process instances, and read instance counts,
 * activity history, incidents and external tasks. Every function takes the
 * REST base URL (`http://127.0.0.1:PORT/engine-rest`) and optional HTTP basic
 * credentials, and raises {@link EngineRequestError} naming the URL, the HTTP
 * status and the engine's message when a call fails.
 */

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { FormData, request, Response } from 'undici';
import { EngineRequestError, WaitTimeoutError } from '../errors.ts';
import { engineErrorMessage } from '../engine/camunda7/error-body.ts';

/** HTTP basic credentials of an engine whose REST API requires authentication. */
export interface BasicAuthCredentials {
  username: string;
  password: string;
}

export interface EngineRequestOptions {
  /** Credentials sent as an `Authorization: Basic` header. */
  auth?: BasicAuthCredentials;
  /** OAuth 2.0 access token sent as an `Authorization: Bearer` header, in place of `auth`. */
  token?: string;
  /** Deadline of one request, in milliseconds. @default 30_000 */
  timeoutMs?: number;
}

/** A BPMN resource to deploy: a file path (deployed under its base name) or inline XML. */
export type BpmnResource = string | { name: string; xml: string };

export interface DeployOptions extends EngineRequestOptions {
  /** @default 'bpmn-task-router' */
  deploymentName?: string;
  /** Tenant that owns the deployment and its definitions; without one they belong to no tenant. */
  tenantId?: string;
}

/** A process definition as the engine returns it. */
export interface ProcessDefinition {
  id: string;
  key: string;
  name: string | null;
  version: number;
  resource: string;
  deploymentId: string;
  suspended: boolean;
  tenantId: string | null;
}

/** A variable in the engine's typed JSON form (`{ "value": 5, "type": "Integer" }`). */
export interface TypedVariableValue {
  value: unknown;
  type: string;
  valueInfo?: Record<string, unknown>;
}

export interface StartProcessOptions extends EngineRequestOptions {
  /** Plain values, converted by {@link toVariableValues}. */
  variables?: Record<string, unknown>;
  /** Variables already in the engine's typed form (Xml, Object, File, Short), sent as they are. */
  typedVariables?: Record<string, TypedVariableValue>;
  businessKey?: string;
  /** Starts the latest definition of this tenant; required when several tenants deployed the key. */
  tenantId?: string;
}

/** A process instance as the start call returns it. */
export interface ProcessInstance {
  id: string;
  definitionId: string;
  businessKey: string | null;
  ended: boolean;
  suspended: boolean;
  tenantId: string | null;
}

/** Numbers of process instances of one definition key, over all its versions. */
export interface ProcessInstanceCounts {
  /** Instances that have not ended, suspended ones included. */
  running: number;
  /** Instances in the history that have ended, completed or canceled. */
  finished: number;
}

/** One entry of the activity history of a process instance. */
export interface HistoricActivityInstance {
  id: string;
  activityId: string;
  activityName: string | null;
  activityType: string;
  processInstanceId: string;
  executionId: string;
  startTime: string;
  endTime: string | null;
  durationInMillis: number | null;
  canceled: boolean;
  completeScope: boolean;
}

export interface Incident {
  id: string;
  incidentType: string;
  incidentMessage: string | null;
  activityId: string | null;
  processInstanceId: string | null;
  processDefinitionId: string | null;
  configuration: string | null;
  incidentTimestamp: string;
}

export interface ExternalTask {
  id: string;
  topicName: string;
  activityId: string;
  processInstanceId: string;
  processDefinitionKey: string;
  businessKey: string | null;
  workerId: string | null;
  lockExpirationTime: string | null;
  retries: number | null;
  errorMessage: string | null;
  priority: number;
}

export interface IncidentFilter {
  processInstanceId?: string;
  processDefinitionKey?: string;
}

export interface ExternalTaskFilter {
  processInstanceId?: string;
  processDefinitionKey?: string;
  topicName?: string;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Returns the engine version, e.g. `1.0.3`. */
export async function getEngineVersion(baseUrl: string, options: EngineRequestOptions = {}): Promise<string> {
  const body = (await callEngine(baseUrl, 'GET', '/version', options)) as { version: string };
  return body.version;
}

/**
 * Deploys BPMN resources in one deployment, with duplicate filtering off so
 * every call creates new definition versions. Returns the process definitions
 * the deployment created; a resource without an executable process adds none.
 */
export async function deployBpmn(
  baseUrl: string,
  resources: readonly BpmnResource[],
  options: DeployOptions = {},
): Promise<ProcessDefinition[]> {
  if (resources.length === 0) {
    throw new TypeError('deployBpmn needs at least one resource');
  }

  const form = new FormData();
  form.append('deployment-name', options.deploymentName ?? 'bpmn-task-router');
  form.append('deployment-source', 'bpmn-task-router');
  form.append('deploy-changed-only', 'false');
  form.append('enable-duplicate-filtering', 'false');
  if (options.tenantId !== undefined) {
    form.append('tenant-id', options.tenantId);
  }
  for (const resource of resources) {
    const { name, xml } = typeof resource === 'string'
      ? { name: basename(resource), xml: await readFile(resource) }
      : resource;
    form.append(name, new Blob([xml], { type: 'application/xml' }), name);
  }

  const body = (await callEngine(baseUrl, 'POST', '/deployment/create', options, form)) as {
    deployedProcessDefinitions: Record<string, ProcessDefinition> | null;
  };
  return Object.values(body.deployedProcessDefinitions ?? {});
}

/** Starts the latest version of the process definition with key `processKey`, of `options.tenantId` when given. */
export async function startProcessInstance(
  baseUrl: string,
  processKey: string,
  options: StartProcessOptions = {},
): Promise<ProcessInstance> {
  const payload = {
    variables: { ...toVariableValues(options.variables ?? {}), ...options.typedVariables },
    ...(options.businessKey === undefined ? {} : { businessKey: options.businessKey }),
  };
  const tenant = options.tenantId === undefined ? '' : `/tenant-id/${encodeURIComponent(options.tenantId)}`;
  const path = `/process-definition/key/${encodeURIComponent(processKey)}${tenant}/start`;
  return (await callEngine(baseUrl, 'POST', path, options, payload)) as ProcessInstance;
}

/** Counts the running and the finished process instances of a definition key. */
export async function countProcessInstances(
  baseUrl: string,
  processKey: string,
  options: EngineRequestOptions = {},
): Promise<ProcessInstanceCounts> {
  const running = (await callEngine(baseUrl, 'GET', `/process-instance/count${query({ processDefinitionKey: processKey })}`, options)) as { count: number };
  const finishedPath = `/history/process-instance/count${query({ processDefinitionKey: processKey, finished: 'true' })}`;
  const finished = (await callEngine(baseUrl, 'GET', finishedPath, options)) as { count: number };
  return { running: running.count, finished: finished.count };
}

/** Lists the activity history of a process instance in the order the activities occurred. */
export async function listActivityInstances(
  baseUrl: string,
  processInstanceId: string,
  options: EngineRequestOptions = {},
): Promise<HistoricActivityInstance[]> {
  const path = `/history/activity-instance${query({ processInstanceId, sortBy: 'occurrence', sortOrder: 'asc' })}`;
  return (await callEngine(baseUrl, 'GET', path, options)) as HistoricActivityInstance[];
}

/** Lists the open incidents that match the filter; an empty filter lists all. */
export async function listIncidents(
  baseUrl: string,
  filter: IncidentFilter = {},
  options: EngineRequestOptions = {},
): Promise<Incident[]> {
  const path = `/incident${query({ processInstanceId: filter.processInstanceId, processDefinitionKeyIn: filter.processDefinitionKey })}`;
  return (await callEngine(baseUrl, 'GET', path, options)) as Incident[];
}

/** Lists the external tasks that match the filter; an empty filter lists all. */
export async function listExternalTasks(
  baseUrl: string,
  filter: ExternalTaskFilter = {},
  options: EngineRequestOptions = {},
): Promise<ExternalTask[]> {
  const path = `/external-task${query({
    processInstanceId: filter.processInstanceId,
    processDefinitionKey: filter.processDefinitionKey,
    topicName: filter.topicName,
  })}`;
  return (await callEngine(baseUrl, 'GET', path, options)) as ExternalTask[];
}

/**
 * Converts plain values to the engine's typed variables. Strings become
 * String, booleans Boolean, and `null` Null. Integers become Integer when they
 * fit 32 bits, Long up to 2^53, and Double past that, like other numbers.
 * Bigints become Long, Dates Date, byte arrays Bytes (base64), and plain
 * objects and arrays Json. Raises a TypeError naming the variable for
 * `undefined`, NaN, infinities, bigints outside 64 bits, and other kinds.
 */
export function toVariableValues(values: Record<string, unknown>): Record<string, TypedVariableValue> {
  const typed: Record<string, TypedVariableValue> = {};
  for (const [name, value] of Object.entries(values)) {
    typed[name] = toVariableValue(name, value);
  }
  return typed;
}

function toVariableValue(name: string, value: unknown): TypedVariableValue {
  if (value === null) {
    return { value: null, type: 'Null' };
  }

  switch (typeof value) {
    case 'string':
      return { value, type: 'String' };
    case 'boolean':
      return { value, type: 'Boolean' };
    case 'number':
      return numberVariable(name, value);
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) {
        throw new TypeError(`variable "${name}" is ${value}, outside the 64-bit range of a Long`);
      }
      // A decimal string keeps all 64 bits; the engine parses it as a Long.
      return { value: value.toString(), type: 'Long' };
    case 'object':
      return objectVariable(name, value);
    default:
      throw new TypeError(`variable "${name}" has type ${typeof value}, which has no engine variable type; use null for an empty variable`);
  }
}

function numberVariable(name: string, value: number): TypedVariableValue {
  if (!Number.isFinite(value)) {
    throw new TypeError(`variable "${name}" is ${value}, which JSON cannot carry`);
  }
  if (Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) {
    return { value, type: 'Integer' };
  }
  if (Number.isSafeInteger(value)) {
    return { value, type: 'Long' };
  }
  return { value, type: 'Double' };
}

function objectVariable(name: string, value: object): TypedVariableValue {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw new TypeError(`variable "${name}" is an invalid Date`);
    }
    // The engine's REST date format is yyyy-MM-dd'T'HH:mm:ss.SSSZ, e.g. 2026-01-31T09:30:00.000+0000.
    return { value: value.toISOString().replace(/Z$/, '+0000'), type: 'Date' };
  }
  if (value instanceof Uint8Array) {
    return { value: Buffer.from(value).toString('base64'), type: 'Bytes' };
  }
  return { value: JSON.stringify(value), type: 'Json', valueInfo: {} };
}

export interface WaitForOptions {
  /** @default 10_000 */
  timeoutMs?: number;
  /** Pause between two calls of the predicate. @default 100 */
  intervalMs?: number;
  /** Description of the awaited condition for the timeout message, e.g. `'2 finished instances'`. */
  description?: string;
}

/**
 * Calls `predicate` until it returns a truthy value, and returns that value.
 * Raises {@link WaitTimeoutError}, with the last value, when `timeoutMs`
 * passes first. An error thrown by the predicate ends the wait at once.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;

  for (;;) {
    const value = await predicate();
    if (value) {
      return value as Exclude<T, false | 0 | '' | null | undefined>;
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${options.description ?? 'the condition'}; last value: ${inspect(value, { depth: 4 })}`,
      );
    }
    await sleep(intervalMs);
  }
}

function query(parameters: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined) {
      search.append(name, value);
    }
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/**
 * Sends one request to the engine and returns the parsed JSON body (or
 * `undefined` for 204). A plain object body is sent as JSON, FormData as
 * multipart.
 */
async function callEngine(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  options: EngineRequestOptions,
  body?: FormData | object,
): Promise<unknown> {
  const url = `${baseUrl.replace(/\/+$/, '')}${path}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined) {
    headers.authorization = `Bearer ${options.token}`;
  } else if (options.auth !== undefined) {
    const token = Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64');
    headers.authorization = `Basic ${token}`;
  }

  let requestBody: Buffer | string | undefined;
  if (body instanceof FormData) {
    // Encoded up front with a Content-Length: a streamed FormData body sometimes stalled
    // on the first deployment after the engine started (seen with undici 8 and Operaton 1.0.3).
    const encoded = new Response(body);
    headers['content-type'] = encoded.headers.get('content-type') ?? 'multipart/form-data';
    requestBody = Buffer.from(await encoded.arrayBuffer());
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    requestBody = JSON.stringify(body);
  }

  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, {
      method,
      headers,
      body: requestBody,
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EngineRequestError(`${method} ${url} failed: ${reason}; check that the engine runs at ${baseUrl}`, undefined, { cause: error });
  }

  const text = await response.body.text();
  if (response.statusCode >= 300) {
    throw new EngineRequestError(`${method} ${url} failed with HTTP ${response.statusCode}: ${engineErrorMessage(text)}`, response.statusCode);
  }
  if (text === '') {
    return undefined;
  }
  return JSON.parse(text) as unknown;
}
