/**
 * `inspect FILE [--config CONFIG] [--json]`: shows what the daemon reads of
 * a BPMN file. For each activity it prints the properties, the route a task
 * of it takes, and the activities that the graph allows next. With a
 * configuration the route is resolved exactly as the daemon does; without
 * one it comes from the activity's properties alone.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { loadConfigFile } from '../config/load.ts';
import type { RouterConfig } from '../config/types.ts';
import { DEFAULT_PARSE_LIMITS, parseDefinition } from '../definitions/bpmn-extractor.ts';
import type { Activity, DefinitionModel, ProcessInfo } from '../definitions/model.ts';
import { BpmnParseError } from '../errors.ts';
import { resolveRoute, ROUTE_PROPERTIES, type Route } from '../routing/route.ts';

/** A route as printed: plain JSON values. */
export type RouteView =
  | {
    kind: 'http';
    /** Null when neither the activity nor, without a configuration, anything else names a service. */
    service: string | null;
    path: string;
    method: string;
    /** Variable names sent, or `all`. */
    variables: string[] | 'all';
    resultVariable: string | null;
    /** HTTP status to BPMN error code. */
    errors: Record<string, string>;
  }
  | { kind: 'handler'; module: string; variables: string[] | 'all' };

export interface BoundaryView {
  id: string;
  type: string;
  errorCode: string | null;
  next: string[];
}

export interface ActivityView {
  id: string;
  name: string | null;
  type: string;
  processId: string;
  parentId: string | null;
  topic: string | null;
  jobType: string | null;
  properties: Record<string, string>;
  headers: Record<string, string>;
  documentation: string | null;
  /** Process that a call activity starts. */
  calledElement: string | null;
  /** The route of the activity's tasks; null for an activity without a topic or job type. */
  route: RouteView | null;
  /** The reason no route could be resolved, as the daemon would report it. */
  routeError: string | null;
  /** Targets of the outgoing sequence flows. */
  next: string[];
  /** Boundary events attached to the activity, with where each leads. */
  boundaryEvents: BoundaryView[];
}

export interface InspectReport {
  file: string;
  /** The configuration the routes were resolved with; null when they come from properties alone. */
  config: string | null;
  processes: ProcessInfo[];
  activities: ActivityView[];
}

const USAGE = 'usage: inspect FILE [--config CONFIG] [--json]';

/** Runs the command and returns its exit code: 0 valid, 1 invalid definition or unreadable file, 2 bad usage. */
export function runInspect(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean', default: false } },
    });
  } catch (error) {
    err.write(`inspect: ${oneLine(error)}; ${USAGE}\n`);
    return 2;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || extra.length > 0) {
    err.write(`inspect: expected one FILE; ${USAGE}\n`);
    return 2;
  }

  const config = parsed.values.config === undefined ? undefined : loadConfigFile(parsed.values.config);

  const maxBytes = config?.definitions?.maxBytes ?? DEFAULT_PARSE_LIMITS.maxBytes;
  let bytes: Buffer;
  try {
    bytes = readAtMost(file, maxBytes + 1);
  } catch (error) {
    err.write(`inspect: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? oneLine(error)}\n`);
    return 1;
  }
  if (bytes.length > maxBytes) {
    err.write(`inspect: ${file}: invalid BPMN (ERR_BPMN_LIMIT): the file is larger than the maxBytes limit of ${maxBytes} bytes; ` +
      'raise definitions.maxBytes in the file given with --config if the definition is genuine\n');
    return 1;
  }

  let model: DefinitionModel;
  try {
    model = parseDefinition(bytes, config?.definitions);
  } catch (error) {
    if (error instanceof BpmnParseError) {
      err.write(`inspect: ${file}: invalid BPMN (${error.code}): ${oneLine(error)}\n`);
      return 1;
    }
    throw error;
  }

  const report = inspectModel(model, file, config);
  out.write(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return 0;
}

/** Builds the report of a parsed definition. */
export function inspectModel(model: DefinitionModel, file: string, config: RouterConfig | undefined): InspectReport {
  const activities = [...model.activities.values()];
  const boundaryByHost = new Map<string, Activity[]>();
  for (const activity of activities) {
    if (activity.type === 'boundaryEvent' && activity.attachedToRef !== undefined) {
      const attached = boundaryByHost.get(activity.attachedToRef) ?? [];
      attached.push(activity);
      boundaryByHost.set(activity.attachedToRef, attached);
    }
  }

  return {
    file,
    config: config === undefined ? null : (config.source ?? null),
    processes: [...model.processes],
    activities: activities.map((activity) => {
      const { route, routeError } = routeOf(activity, config);
      return {
        id: activity.id,
        name: activity.name ?? null,
        type: activity.type,
        processId: activity.processId,
        parentId: activity.parentId ?? null,
        topic: activity.topic ?? null,
        jobType: activity.jobType ?? null,
        properties: { ...activity.properties },
        headers: { ...activity.headers },
        documentation: activity.documentation ?? null,
        calledElement: activity.calledElement ?? null,
        route,
        routeError,
        next: [...activity.outgoing],
        boundaryEvents: (boundaryByHost.get(activity.id) ?? []).map((boundary) => ({
          id: boundary.id,
          type: boundary.type,
          errorCode: boundary.errorCode ?? null,
          next: [...boundary.outgoing],
        })),
      };
    }),
  };
}

/** Resolves the route of an activity whose tasks a worker takes: one with a topic or a job type. */
function routeOf(activity: Activity, config: RouterConfig | undefined): { route: RouteView | null; routeError: string | null } {
  const topicName = activity.topic ?? activity.jobType;
  if (topicName === undefined) {
    return { route: null, routeError: null };
  }
  if (config === undefined) {
    return { route: routeFromProperties(activity), routeError: null };
  }

  const topic = config.topics.find((candidate) => candidate.topic === topicName);
  if (topic === undefined) {
    return { route: null, routeError: `topic "${topicName}" is not configured, so the daemon does not fetch its tasks` };
  }
  try {
    return { route: viewOf(resolveRoute(config, topic, activity)), routeError: null };
  } catch (error) {
    return { route: null, routeError: oneLine(error) };
  }
}

/** Builds the route from the activity's properties alone, with the daemon's defaults for the rest. */
function routeFromProperties(activity: Activity): RouteView {
  const properties = { ...activity.headers, ...activity.properties };
  const variables = properties[ROUTE_PROPERTIES.variables];
  const errors: Record<string, string> = {};
  for (const pair of (properties[ROUTE_PROPERTIES.errors] ?? '').split(',')) {
    const match = /^\s*([1-5]\d\d)\s*[=:]\s*(\S+)\s*$/.exec(pair);
    if (match) {
      errors[match[1] as string] = match[2] as string;
    }
  }
  return {
    kind: 'http',
    service: properties[ROUTE_PROPERTIES.service] ?? null,
    path: properties[ROUTE_PROPERTIES.path] ?? '/',
    method: (properties[ROUTE_PROPERTIES.method] ?? 'POST').trim().toUpperCase(),
    variables: variables === undefined ? 'all' : variables.split(',').map((name) => name.trim()).filter((name) => name !== ''),
    resultVariable: properties[ROUTE_PROPERTIES.resultVariable] ?? null,
    errors,
  };
}

function viewOf(route: Route): RouteView {
  const variables = route.variables === undefined ? 'all' : [...route.variables];
  if (route.kind === 'handler') {
    return { kind: 'handler', module: route.module, variables };
  }
  const errors: Record<string, string> = {};
  for (const [status, mapping] of route.errors) {
    errors[String(status)] = mapping.code;
  }
  return {
    kind: 'http',
    service: route.service,
    path: route.path,
    method: route.method,
    variables,
    resultVariable: route.resultVariable ?? null,
    errors,
  };
}

/** Formats the report as indented text, one block per process. */
export function formatReport(report: InspectReport): string {
  const lines: string[] = [];
  const source = report.config === null ? 'routes from activity properties only' : `routes resolved with ${report.config}`;
  lines.push(`${report.file}: ${plural(report.processes.length, 'process', 'processes')}, ${plural(report.activities.length, 'activity', 'activities')} (${source})`);

  for (const process of report.processes) {
    const label = process.name === undefined ? '' : ` "${process.name}"`;
    lines.push('', `process ${process.id}${label}${process.isExecutable ? ' (executable)' : ''}`);
    for (const activity of report.activities.filter((candidate) => candidate.processId === process.id)) {
      lines.push(...formatActivity(activity));
    }
  }
  return `${lines.join('\n')}\n`;
}

function formatActivity(activity: ActivityView): string[] {
  const name = activity.name === null ? '' : ` "${activity.name.replace(/\s+/g, ' ').trim()}"`;
  const lines = [`  ${activity.id}  ${activity.type}${name}`];
  const field = (label: string, value: string) => lines.push(`    ${label.padEnd(11)} ${value}`);

  if (activity.parentId !== null) {
    field('inside', activity.parentId);
  }
  if (activity.topic !== null) {
    field('topic', activity.topic);
  }
  if (activity.jobType !== null) {
    field('job type', activity.jobType);
  }
  if (Object.keys(activity.properties).length > 0) {
    field('properties', formatPairs(activity.properties));
  }
  if (Object.keys(activity.headers).length > 0) {
    field('headers', formatPairs(activity.headers));
  }
  if (activity.calledElement !== null) {
    field('calls', activity.calledElement);
  }
  if (activity.route !== null) {
    field('route', formatRoute(activity.route));
  }
  if (activity.routeError !== null) {
    field('route', `none: ${activity.routeError}`);
  }
  if (activity.next.length > 0) {
    field('next', activity.next.join(', '));
  }
  for (const boundary of activity.boundaryEvents) {
    const caught = boundary.errorCode === null ? '' : ` (error ${boundary.errorCode})`;
    const target = boundary.next.length === 0 ? '' : ` -> ${boundary.next.join(', ')}`;
    field('boundary', `${boundary.id}${caught}${target}`);
  }
  return lines;
}

function formatRoute(route: RouteView): string {
  const variables = route.variables === 'all' ? 'all' : route.variables.join(', ') || 'none';
  if (route.kind === 'handler') {
    return `handler ${route.module} (variables: ${variables})`;
  }
  const parts = [`variables: ${variables}`];
  if (route.resultVariable !== null) {
    parts.push(`result: ${route.resultVariable}`);
  }
  if (Object.keys(route.errors).length > 0) {
    parts.push(`errors: ${formatPairs(route.errors)}`);
  }
  return `${route.method} ${route.service ?? '(no service)'} ${route.path} (${parts.join('; ')})`;
}

function formatPairs(record: Record<string, string>): string {
  return Object.entries(record).map(([key, value]) => `${key}=${value}`).join(', ');
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Returns an error's message on one line, so no stack trace or multi-line text reaches the terminal. */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Reads at most `limit` bytes of `file`, so an endless input such as
 * /dev/zero or a huge file costs no more memory than the parser would
 * accept.
 */
function readAtMost(file: string, limit: number): Buffer {
  const descriptor = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(limit, 1024 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < limit) {
      const read = readSync(descriptor, buffer, 0, Math.min(buffer.length, limit - total), null);
      if (read === 0) {
        break;
      }
      chunks.push(Buffer.from(buffer.subarray(0, read)));
      total += read;
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(descriptor);
  }
}
