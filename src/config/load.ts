import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';

import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

import { parseDeclaredType, type DeclaredType } from '../engine/typed-variable.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { substituteEnv } from './env.ts';
import { configSchema, type ValidatedConfig } from './schema.ts';
import { readServiceTls } from './tls.ts';
import { describeSelection, selectorsOverlap } from './topic-selectors.ts';
import type {
  BpmnErrorMapping,
  BreakerOptions,
  CacheOptions,
  CachesOptions,
  DispatchOptions,
  PredictionOptions,
  RetryOptions,
  RouterConfig,
  ServiceOptions,
  TelemetryConfig,
  TopicOptions,
} from './types.ts';

type KeyPath = readonly (string | number | symbol)[];

/** Keys whose values, and everything below them, never appear in error messages (compared in lower case). */
/** Token audience of Camunda 8 SaaS and Self-Managed Identity, used when a camunda8 engine's OAuth settings name none. */
const CAMUNDA8_TOKEN_AUDIENCE = 'zeebe.camunda.io';

const SECRET_KEYS = new Set(['password', 'token', 'secret', 'clientsecret', 'authorization', 'auth', 'headers', 'apikey', 'api-key', 'x-api-key']);

/** File names that Node can import as a handler module. */
const HANDLER_EXTENSION = /\.(?:[cm]?js|[cm]?ts)$/;

/** Loads, validates and compiles a configuration file; throws {@link ConfigError} listing every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): RouterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError(file, [
      { path: '(file)', received: `unreadable file (${reason})`, expected: 'a readable YAML file; check the configuration file path' },
    ]);
  }
  return parseConfig(text, { file, env });
}

/**
 * Validates and compiles configuration text. Relative handler paths resolve
 * against the file's folder, or against `baseDir` (default: the working
 * directory) when there is no file.
 */
export function parseConfig(
  text: string,
  options: { file?: string; env?: NodeJS.ProcessEnv; baseDir?: string } = {},
): RouterConfig {
  const { file } = options;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });

  const [syntaxError] = document.errors;
  if (syntaxError !== undefined) {
    // Later syntax errors are mostly echoes of the first, so only the first is reported.
    const position = lineCounter.linePos(syntaxError.pos[0]);
    throw new ConfigError(file, [{
      path: '(document)',
      received: 'invalid YAML',
      expected: `valid YAML (${syntaxError.message.split('\n')[0]})${/flow|map-start|seq-start/i.test(syntaxError.message) ? '; a ${VAR} inside { } or [ ] must be quoted' : ''}`,
      line: position.line,
      column: position.col,
    }]);
  }

  const plain = toPlainValue(document, file);
  if (plain !== null && plain !== undefined && (typeof plain !== 'object' || Array.isArray(plain))) {
    throw new ConfigError(file, [{
      path: '(top level)',
      received: Array.isArray(plain) ? 'a list' : `a ${typeof plain}`,
      expected: 'a mapping with the keys engine, services and topics',
      line: 1,
      column: 1,
    }]);
  }

  const locate = (path: KeyPath) => locateKey(document, lineCounter, path);
  const { value: substituted, missing } = substituteEnv(plain, options.env ?? process.env);
  const issues: ConfigIssue[] = missing.map((reference) => ({
    path: formatPath(reference.path),
    received: `\${${reference.name}} with ${reference.name} unset`,
    expected: `the environment variable ${reference.name} to be set, or a default as \${${reference.name}:-value}`,
    ...locate(reference.path),
  }));

  const result = configSchema.safeParse(substituted ?? {}, { reportInput: true });
  if (!result.success) {
    const unresolved = new Set(missing.map((reference) => formatPath(reference.path)));
    issues.push(...result.error.issues
      .flatMap((issue) => describeIssue(issue, substituted, locate))
      .filter((issue) => !unresolved.has(issue.path)));
  }
  if (issues.length > 0) {
    throw new ConfigError(file, issues);
  }

  const baseDir = file !== undefined ? dirname(resolve(file)) : (options.baseDir ?? process.cwd());
  return compile(result.data as ValidatedConfig, file, baseDir, locate);
}

/**
 * Validates and compiles configuration given as plain values, in the shape
 * of the YAML file, e.g. by a library user. `${VAR}` references are not
 * substituted; read `process.env` in code instead. Relative handler paths
 * resolve against `baseDir` (default: the working directory). Throws
 * {@link ConfigError} listing every problem.
 */
export function compileConfig(value: unknown, options: { baseDir?: string } = {}): RouterConfig {
  const noPosition = () => ({});
  const result = configSchema.safeParse(value ?? {}, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(undefined, result.error.issues.flatMap((issue) => describeIssue(issue, value, noPosition)));
  }
  return compile(result.data as ValidatedConfig, undefined, options.baseDir ?? process.cwd(), noPosition);
}

function compile(
  config: ValidatedConfig,
  file: string | undefined,
  baseDir: string,
  locate: (path: KeyPath) => { line?: number; column?: number },
): RouterConfig {
  const issues: ConfigIssue[] = [];
  const dispatch = compileDispatch(config.dispatch);
  const services = new Map<string, ServiceOptions>();
  for (const [name, service] of Object.entries(config.services)) {
    services.set(name, Object.freeze({
      name,
      baseUrl: service.baseUrl.replace(/\/+$/, ''),
      timeoutMs: service.timeout,
      maxConcurrent: service.maxConcurrent,
      auth: service.auth === undefined ? undefined : Object.freeze(service.auth.type === 'oauth'
        ? { ...service.auth, audience: service.auth.audience, scope: service.auth.scope }
        : { ...service.auth }),
      headers: Object.freeze({ ...service.headers }),
      retry: compileRetry(service.retry, dispatch.retry),
      breaker: compileBreaker(service.breaker, dispatch.breaker),
      batch: service.batch === undefined
        ? undefined
        : Object.freeze({ path: service.batch.path, maxSize: service.batch.maxSize, maxWaitMs: service.batch.maxWait }),
      tls: service.tls === undefined ? undefined : readServiceTls(name, service.tls.ca, baseDir, issues, locate(['services', name, 'tls', 'ca'])),
    }));
  }

  const seenTopics = new Map<string, number[]>();
  const topics: TopicOptions[] = config.topics.map((topic, index) => {
    const earlier = (seenTopics.get(topic.topic) ?? []).find((other) => selectorsOverlap(selectorsOf(config.topics[other]), selectorsOf(topic)));
    if (earlier !== undefined) {
      issues.push({
        path: `topics[${index}].topic`,
        received: JSON.stringify(topic.topic),
        expected: `a topic not listed before for the same tasks (topics[${earlier}] has it already, for ${describeSelection(selectorsOf(config.topics[earlier]))}); merge the two entries, or give them disjoint tenantIds or processDefinitionKeys`,
        ...locate(['topics', index, 'topic']),
      });
    }
    seenTopics.set(topic.topic, [...(seenTopics.get(topic.topic) ?? []), index]);

    if (topic.service !== undefined && !services.has(topic.service)) {
      issues.push({
        path: `topics[${index}].service`,
        received: JSON.stringify(topic.service),
        expected: `a service declared under services (${[...services.keys()].join(', ') || 'none declared'})`,
        ...locate(['topics', index, 'service']),
      });
    }

    if (config.engine.type !== 'camunda7') {
      issues.push(...camunda7OnlyKeys(topic, index, config.engine.type, locate));
    }

    let handler: string | undefined;
    if (topic.handler !== undefined) {
      handler = isAbsolute(topic.handler) ? topic.handler : resolve(baseDir, topic.handler);
      if (!HANDLER_EXTENSION.test(handler)) {
        issues.push({
          path: `topics[${index}].handler`,
          received: JSON.stringify(topic.handler),
          expected: 'a JavaScript or TypeScript module (.js, .mjs, .cjs, .ts, .mts or .cts) that exports a handler function',
          ...locate(['topics', index, 'handler']),
        });
      } else if (!existsSync(handler)) {
        issues.push({
          path: `topics[${index}].handler`,
          received: JSON.stringify(topic.handler),
          expected: `an existing module file (looked for ${handler}; relative paths resolve against ${baseDir})`,
          ...locate(['topics', index, 'handler']),
        });
      }
    }

    const errors = new Map<number, BpmnErrorMapping>();
    for (const [status, mapping] of Object.entries(topic.errors)) {
      errors.set(Number(status), typeof mapping === 'string'
        ? { code: mapping, message: undefined }
        : { code: mapping.code, message: mapping.message });
    }

    return Object.freeze({
      topic: topic.topic,
      service: topic.service,
      path: topic.path,
      method: topic.method,
      variables: topic.variables === undefined ? undefined : Object.freeze([...topic.variables]),
      localVariables: topic.localVariables,
      resultVariable: topic.resultVariable,
      variableTypes: compileVariableTypes(topic.variableTypes),
      errors,
      handler,
      lockDurationMs: topic.lockDuration ?? config.engine.lockDuration,
      ...selectorsOf(topic),
      processDefinitionVersionTag: topic.processDefinitionVersionTag,
      businessKey: topic.businessKey,
    });
  });

  if (config.prediction.shared !== undefined && config.cache.redis === undefined) {
    issues.push({
      path: 'prediction.shared',
      received: JSON.stringify(config.prediction.shared),
      expected: 'cache.redis to be configured, since the counts are shared through it; add cache.redis or remove prediction.shared',
      ...locate(['prediction', 'shared']),
    });
  }

  if (issues.length > 0) {
    throw new ConfigError(file, issues);
  }

  const { engine } = config;
  return Object.freeze({
    source: file,
    engine: Object.freeze({
      type: engine.type,
      baseUrl: engine.baseUrl.replace(/\/+$/, ''),
      auth: engine.auth === undefined ? undefined : Object.freeze(engine.auth.type === 'oauth'
        ? { ...engine.auth, scope: engine.auth.scope, audience: engine.auth.audience ?? (engine.type === 'camunda8' ? CAMUNDA8_TOKEN_AUDIENCE : undefined) }
        : { ...engine.auth }),
      tenantIds: engine.tenantIds === undefined ? undefined : Object.freeze([...engine.tenantIds]),
      streaming: engine.streaming === undefined ? undefined : Object.freeze({ grpcAddress: engine.streaming.grpcAddress }),
      workerId: engine.workerId ?? `${hostname()}-${process.pid}`,
      maxTasks: engine.maxTasks,
      lockDurationMs: engine.lockDuration,
      asyncResponseTimeoutMs: engine.asyncResponseTimeout,
      pollIntervalMs: engine.pollInterval,
      requestTimeoutMs: engine.requestTimeout,
      extendLockAt: engine.extendLockAt,
      includeExtensionProperties: engine.includeExtensionProperties,
      failure: Object.freeze({
        retries: engine.failure.retries,
        retryTimeoutMs: engine.failure.retryTimeout,
        maxRetryTimeoutMs: engine.failure.maxRetryTimeout,
      }),
    }),
    services,
    dispatch,
    topics: Object.freeze(topics),
    cache: compileCaches(config.cache),
    definitions: Object.freeze({ ...config.definitions }),
    telemetry: compileTelemetry(config.telemetry),
    prediction: compilePrediction(config.prediction),
    logging: Object.freeze({ level: config.logging.level }),
    shutdown: Object.freeze({ gracePeriodMs: config.shutdown.gracePeriod }),
  });
}

type TopicInput = ValidatedConfig['topics'][number];

/** Topic keys that only the Camunda 7 adapter reads, with the value that means "not used". */
const CAMUNDA7_TOPIC_KEYS = ['localVariables', 'variableTypes', 'tenantIds', 'withoutTenantId', 'processDefinitionKeys', 'processDefinitionVersionTag', 'businessKey'] as const;

/** Lists a topic's Camunda 7 keys that are set while another engine type is configured. */
function camunda7OnlyKeys(topic: TopicInput, index: number, engineType: string, locate: (path: KeyPath) => { line?: number; column?: number }): ConfigIssue[] {
  const unused = (value: unknown) => value === undefined || value === false || (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
  return CAMUNDA7_TOPIC_KEYS
    .filter((key) => !unused(topic[key]))
    .map((key) => ({
      path: `topics[${index}].${key}`,
      received: JSON.stringify(topic[key]),
      expected: `no ${key} for ${engineType}; it needs engine.type: camunda7`,
      ...locate(['topics', index, key]),
    }));
}

/** Copies the tenant and process definition filters of a topic entry, which decide the tasks it serves. */
function selectorsOf(topic: TopicInput | undefined): Pick<TopicOptions, 'tenantIds' | 'withoutTenantId' | 'processDefinitionKeys'> {
  return {
    tenantIds: topic?.tenantIds === undefined ? undefined : Object.freeze([...topic.tenantIds]),
    withoutTenantId: topic?.withoutTenantId ?? false,
    processDefinitionKeys: topic?.processDefinitionKeys === undefined ? undefined : Object.freeze([...topic.processDefinitionKeys]),
  };
}

/** Parses the declared types; the schema has checked each one already. */
function compileVariableTypes(types: Record<string, string>): ReadonlyMap<string, DeclaredType> {
  const compiled = new Map<string, DeclaredType>();
  for (const [name, text] of Object.entries(types)) {
    const declared = parseDeclaredType(text);
    if (declared !== undefined) {
      compiled.set(name, declared);
    }
  }
  return compiled;
}

const DEFAULT_RETRY: RetryOptions = Object.freeze({ maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 5_000 });
const DEFAULT_BREAKER: BreakerOptions = Object.freeze({ failureThreshold: 3, openDurationMs: 5_000, outageBudgetMs: 300_000 });

type RetryInput = ValidatedConfig['dispatch']['retry'];
type BreakerInput = ValidatedConfig['dispatch']['breaker'];

function compileDispatch(dispatch: ValidatedConfig['dispatch']): DispatchOptions {
  return Object.freeze({
    retry: compileRetry(dispatch.retry, DEFAULT_RETRY),
    breaker: compileBreaker(dispatch.breaker, DEFAULT_BREAKER),
    handlerConcurrency: dispatch.handlers.maxConcurrent,
  });
}

/** Fills a service's retry settings from `dispatch.retry`, key by key. */
function compileRetry(input: RetryInput | undefined, fallback: RetryOptions): RetryOptions {
  return Object.freeze({
    maxAttempts: input?.maxAttempts ?? fallback.maxAttempts,
    initialDelayMs: input?.initialDelay ?? fallback.initialDelayMs,
    maxDelayMs: input?.maxDelay ?? fallback.maxDelayMs,
  });
}

/** Fills a service's breaker settings from `dispatch.breaker`, key by key. */
function compileBreaker(input: BreakerInput | undefined, fallback: BreakerOptions): BreakerOptions {
  return Object.freeze({
    failureThreshold: input?.failureThreshold ?? fallback.failureThreshold,
    openDurationMs: input?.openDuration ?? fallback.openDurationMs,
    outageBudgetMs: input?.outageBudget ?? fallback.outageBudgetMs,
  });
}

function compileCaches(cache: ValidatedConfig['cache']): CachesOptions {
  const compileCache = (section: ValidatedConfig['cache']['properties']): CacheOptions => ({
    ttlMs: section.ttl,
    maxTtlMs: section.maxTtl,
    ttlGrowth: section.ttlGrowth,
    maxEntries: section.maxEntries,
    maxBytes: section.maxBytes,
  });
  const { redis } = cache;
  return Object.freeze({
    definitions: Object.freeze({ ...compileCache(cache.definitions), latestVersionTtlMs: cache.definitions.latestVersionTtl }),
    properties: Object.freeze(compileCache(cache.properties)),
    docs: Object.freeze(compileCache(cache.docs)),
    purgeIntervalMs: cache.purgeInterval,
    reportedEntries: cache.reportedEntries,
    redis: redis === undefined ? undefined : Object.freeze({
      url: redis.url,
      password: redis.password,
      keyPrefix: redis.keyPrefix,
      ttlMs: redis.ttl,
      connectTimeoutMs: redis.connectTimeout,
      commandTimeoutMs: redis.commandTimeout,
    }),
  });
}

function compileTelemetry(telemetry: ValidatedConfig['telemetry']): TelemetryConfig {
  const { tracing, metrics, server } = telemetry;
  return Object.freeze({
    serviceName: telemetry.serviceName,
    tracing: Object.freeze({ endpoint: tracing.endpoint, headers: Object.freeze({ ...tracing.headers }), sampleRatio: tracing.sampleRatio }),
    metrics: Object.freeze({
      otlp: metrics.otlp === undefined ? undefined : Object.freeze({
        endpoint: metrics.otlp.endpoint,
        headers: Object.freeze({ ...metrics.otlp.headers }),
        intervalMs: metrics.otlp.interval,
      }),
    }),
    server: server === undefined ? undefined : Object.freeze({ host: server.host, port: server.port }),
    health: Object.freeze({ stallGraceMs: telemetry.health.stallGrace }),
  });
}

function compilePrediction(prediction: ValidatedConfig['prediction']): PredictionOptions {
  return Object.freeze({
    enabled: prediction.enabled,
    minProbability: prediction.minProbability,
    maxPrefetches: prediction.maxPrefetches,
    prefetchWindowMs: prediction.prefetchWindow,
    maxDefinitions: prediction.maxDefinitions,
    maxBytesPerDefinition: prediction.maxBytesPerDefinition,
    maxBytes: prediction.maxBytes,
    maxInstances: prediction.maxInstances,
    preloadIntervalMs: prediction.preloadInterval,
    preloadProcessKeys: Object.freeze([...prediction.preloadProcessKeys]),
    shared: prediction.shared === undefined ? undefined : Object.freeze({ syncIntervalMs: prediction.shared.syncInterval }),
  });
}

function describeIssue(
  issue: z.core.$ZodIssue,
  root: unknown,
  locate: (path: KeyPath) => { line?: number; column?: number },
): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return {
        path: formatPath(path),
        received: describeValue(valueAt(root, path), path),
        expected: 'no such key; check its spelling and indentation',
        ...locate(path),
      };
    });
  }

  // A record key that fails its own schema carries the useful message in a nested issue.
  const message = issue.code === 'invalid_key' && issue.issues[0] !== undefined ? issue.issues[0].message : issue.message;
  return [{
    path: formatPath(issue.path) || '(top level)',
    received: describeValue(valueAt(root, issue.path), issue.path),
    expected: message,
    ...locate(issue.path),
  }];
}

/** Converts the YAML document to plain values; an alias bomb or another conversion failure is a config error. */
function toPlainValue(document: Document, file: string | undefined): unknown {
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(file, [{
      path: '(document)',
      received: `YAML that cannot be expanded (${error instanceof Error ? error.message : String(error)})`,
      expected: 'plain YAML; anchors and aliases expand to at most 100 nodes',
    }]);
  }
}

function valueAt(root: unknown, path: KeyPath): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') {
      return undefined;
    }
    current = (current as Record<string | number, unknown>)[key as string | number];
  }
  return current;
}

function describeValue(value: unknown, path: KeyPath): string {
  if (value === undefined) {
    return 'nothing (the key is missing)';
  }
  // Anything under an auth or headers key may be a credential, whatever its name or shape.
  if (path.some((key) => typeof key === 'string' && SECRET_KEYS.has(key.toLowerCase()))) {
    return '(hidden)';
  }
  const text = JSON.stringify(typeof value === 'string' ? withoutUrlPassword(value) : value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Masks the password of a URL such as http://user:secret@host, which is rejected but must not be printed. */
function withoutUrlPassword(value: string): string {
  if (!URL.canParse(value)) {
    return value;
  }
  const url = new URL(value);
  if (url.password === '') {
    return value;
  }
  url.password = '***';
  return url.href;
}

function formatPath(path: KeyPath): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') {
      text += `[${key}]`;
    } else {
      const name = String(key);
      text += /^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(name) ? (text === '' ? name : `.${name}`) : `[${JSON.stringify(name)}]`;
    }
  }
  return text;
}

/** Finds the line and column of the deepest node along a key path, so a missing key points at its parent. */
function locateKey(document: Document, lineCounter: LineCounter, path: KeyPath): { line?: number; column?: number } {
  for (let length = path.length; length >= 0; length -= 1) {
    const node = length === 0 ? document.contents : document.getIn(path.slice(0, length) as unknown[], true);
    if (isNode(node) && node.range) {
      const position = lineCounter.linePos(node.range[0]);
      return { line: position.line, column: position.col };
    }
  }
  return {};
}
