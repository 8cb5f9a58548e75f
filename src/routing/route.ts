import type { BpmnErrorMapping, HttpMethod, RouterConfig, TopicOptions } from '../config/types.ts';
import { inputVariablesOf } from '../definitions/activity-cache.ts';
import type { Activity } from '../definitions/model.ts';
import { DECLARED_TYPE_HINT, parseDeclaredType, type DeclaredType } from '../engine/typed-variable.ts';
import { RouteError, UnknownServiceError } from '../errors.ts';
import { unsafePathReason } from './path-safety.ts';

/** The destination of a task: an HTTP service call or an in-process handler. */
export type Route = HttpRoute | HandlerRoute;

export interface HttpRoute {
  kind: 'http';
  service: string;
  path: string;
  method: HttpMethod;
  /** Variables sent; undefined sends all. */
  variables: readonly string[] | undefined;
  resultVariable: string | undefined;
  errors: ReadonlyMap<number, BpmnErrorMapping>;
  /** Engine types of result variables, by name. */
  variableTypes: ReadonlyMap<string, DeclaredType>;
}

export interface HandlerRoute {
  kind: 'handler';
  /** Absolute path of the handler module. */
  module: string;
  variables: readonly string[] | undefined;
  variableTypes: ReadonlyMap<string, DeclaredType>;
}

/**
 * Names of the activity extension properties that override a topic's
 * defaults. They are read from `camunda:properties` (Camunda 7) or
 * `zeebe:taskHeaders` (Camunda 8).
 */
export const ROUTE_PROPERTIES = {
  service: 'service',
  path: 'path',
  method: 'method',
  variables: 'variables',
  resultVariable: 'resultVariable',
  errors: 'errors',
  variableTypes: 'variableTypes',
} as const;

const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * What routing reads of an activity; the properties cache contains just this.
 * `inputVariables` are the targets of a Camunda 8 task's `zeebe:input`
 * mappings.
 */
export type RoutedActivity = Pick<Activity, 'id' | 'properties' | 'headers'> & { inputVariables?: readonly string[] };

/**
 * Resolves a task's route: the activity's extension properties override the
 * topic's defaults. The variables sent are the activity's `variables`
 * property, else its `zeebe:input` targets, else the topic's `variables`,
 * else all. Throws {@link UnknownServiceError} when the resulting
 * service is not declared and {@link RouteError} when a property is invalid.
 */
export function resolveRoute(
  config: RouterConfig,
  topic: TopicOptions,
  activity: RoutedActivity | Activity | undefined,
): Route {
  const properties = { ...activity?.headers, ...activity?.properties };
  const inputVariables = activity === undefined ? [] : ('type' in activity ? inputVariablesOf(activity) : activity.inputVariables ?? []);
  const where = activity === undefined ? `topic "${topic.topic}"` : `activity "${activity.id}" (topic "${topic.topic}")`;
  const listed = listedVariables(config, topic, properties[ROUTE_PROPERTIES.variables], where);
  const variables = listed ?? (inputVariables.length > 0 ? inputVariables : undefined) ?? topic.variables;
  const variableTypes = mergeVariableTypes(topic.variableTypes, properties[ROUTE_PROPERTIES.variableTypes], where);
  const serviceProperty = properties[ROUTE_PROPERTIES.service];
  if (topic.handler !== undefined && serviceProperty === undefined) {
    return { kind: 'handler', module: topic.handler, variables, variableTypes };
  }

  const service = serviceProperty ?? topic.service;
  if (service === undefined) {
    throw new RouteError(
      `no service for ${where}: set \`service\` on the topic in the configuration or a \`service\` extension property on the activity`,
    );
  }
  if (!config.services.has(service)) {
    throw new UnknownServiceError(service, [...config.services.keys()], serviceProperty === undefined ? `topic "${topic.topic}"` : where);
  }

  const path = properties[ROUTE_PROPERTIES.path] ?? topic.path ?? '/';
  const unsafe = unsafePathReason(path);
  if (unsafe !== undefined) {
    throw new RouteError(`invalid path ${JSON.stringify(path)} on ${where}: ${unsafe}`);
  }

  return {
    kind: 'http',
    service,
    path,
    method: parseMethod(properties[ROUTE_PROPERTIES.method], where) ?? topic.method,
    variables,
    resultVariable: properties[ROUTE_PROPERTIES.resultVariable] ?? topic.resultVariable,
    errors: mergeErrors(topic.errors, properties[ROUTE_PROPERTIES.errors], where),
    variableTypes,
  };
}

/**
 * Returns the activity's `variables` property as a list. On Camunda 7 the
 * topic's list is also what the engine returns with the task, so there an
 * activity may only narrow it.
 */
function listedVariables(config: RouterConfig, topic: TopicOptions, value: string | undefined, where: string): readonly string[] | undefined {
  const listed = parseList(value);
  if (listed === undefined || topic.variables === undefined || config.engine.type !== 'camunda7') {
    return listed;
  }
  const unfetched = listed.filter((name) => !topic.variables?.includes(name));
  if (unfetched.length > 0) {
    throw new RouteError(
      `${where} needs variables ${unfetched.join(', ')} that topic "${topic.topic}" does not fetch: add them to the topic's variables list in the configuration`,
    );
  }
  return listed;
}

/** Parses `dueDate=Date,order=Object:com.example.Order` over the topic's declared types. */
function mergeVariableTypes(
  defaults: ReadonlyMap<string, DeclaredType>,
  value: string | undefined,
  where: string,
): ReadonlyMap<string, DeclaredType> {
  if (value === undefined) {
    return defaults;
  }
  const merged = new Map(defaults);
  for (const trimmed of parseList(value) ?? []) {
    const match = /^([^=\s]+)\s*=\s*(.+)$/.exec(trimmed);
    const declared = match === null ? undefined : parseDeclaredType(match[2] as string);
    if (match === null || declared === undefined) {
      throw new RouteError(
        `invalid variableTypes entry ${JSON.stringify(trimmed)} on ${where}: write name=Type pairs separated by commas, with Type ${DECLARED_TYPE_HINT}`,
      );
    }
    merged.set(match[1] as string, declared);
  }
  return merged;
}

function parseMethod(value: string | undefined, where: string): HttpMethod | undefined {
  if (value === undefined) {
    return undefined;
  }
  const method = value.trim().toUpperCase();
  if (!METHODS.has(method)) {
    throw new RouteError(`invalid method ${JSON.stringify(value)} on ${where}: use one of ${[...METHODS].join(', ')}`);
  }
  return method as HttpMethod;
}

function parseList(value: string | undefined): readonly string[] | undefined {
  if (value === undefined) {
    return undefined;
  }
  return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

/** Parses `402=PAYMENT_DECLINED,409=OUT_OF_STOCK` over the topic's mapping. */
function mergeErrors(
  defaults: ReadonlyMap<number, BpmnErrorMapping>,
  value: string | undefined,
  where: string,
): ReadonlyMap<number, BpmnErrorMapping> {
  if (value === undefined) {
    return defaults;
  }
  const merged = new Map(defaults);
  for (const trimmed of parseList(value) ?? []) {
    const match = /^([1-5]\d\d)\s*[=:]\s*(\S+)$/.exec(trimmed);
    if (!match) {
      throw new RouteError(
        `invalid errors entry ${JSON.stringify(trimmed)} on ${where}: write status=CODE pairs separated by commas, e.g. 402=PAYMENT_DECLINED,409=OUT_OF_STOCK`,
      );
    }
    merged.set(Number(match[1]), { code: match[2] as string, message: undefined });
  }
  return merged;
}
