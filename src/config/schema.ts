/**
 * The configuration file's schema. Every field's `error` text says what is
 * allowed, because the loader prints it next to the key path and the value
 * it received.
 */
import { z } from 'zod';

import { DECLARED_TYPE_HINT, parseDeclaredType } from '../engine/typed-variable.ts';
import { unsafePathReason } from '../routing/path-safety.ts';
import { parseDuration } from './duration.ts';

/** A route path that stays under the service's base URL; routing/path-safety.ts lists the rules. */
const routePath = z
  .string({ error: 'a path starting with /' })
  .startsWith('/', { error: 'a path starting with /', abort: true })
  .refine((value) => unsafePathReason(value) === undefined, {
    error: (issue) => `a path starting with / without dot segments, encoded slashes or backslashes (${unsafePathReason(String(issue.input))})`,
  });

const DURATION_HINT = 'a duration: milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h';

/** A duration, parsed to milliseconds. The metadata gives the JSON Schema what the transform checks. */
const duration = z
  .union([z.number(), z.string()], { error: DURATION_HINT })
  .transform((value, context) => {
    const milliseconds = parseDuration(value);
    if (milliseconds === undefined) {
      context.addIssue({ code: 'custom', message: DURATION_HINT });
      return z.NEVER;
    }
    return milliseconds;
  })
  .meta({ minimum: 0, pattern: '^\\s*(\\d+|\\d+(\\.\\d+)?\\s*(ms|s|m|h))\\s*$', examples: ['500ms', '30s', '5m', '1h'] });

/** An integer in a range; numeric strings are accepted because `${VAR}` substitution yields strings. */
function integer(min: number, max: number) {
  const hint = `an integer from ${min} to ${max}`;
  return z.preprocess(
    (value) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value),
    z.number({ error: hint }).int({ error: hint }).min(min, { error: hint }).max(max, { error: hint }),
  );
}

/** A duration that must be above zero, for timeouts and locks where zero would fail every call. */
const positiveDuration = duration.refine((value) => value > 0, { error: 'a duration above zero, such as 30s or 1h' });

const httpUrl = z
  .string({ error: 'an http:// or https:// URL' })
  .refine((value) => /^https?:\/\/[^\s/]+/.test(value) && URL.canParse(value), {
    error: 'an http:// or https:// URL such as http://127.0.0.1:8080/engine-rest',
  })
  .refine((value) => !URL.canParse(value) || (new URL(value).username === '' && new URL(value).password === ''), {
    error: 'a URL without user name or password; put credentials under auth, so they stay out of logs',
  })
  .meta({ pattern: '^https?://[^\\s/@]+([/?#].*)?$' });

const name = z
  .string({ error: 'a name of letters, digits, dots, dashes and underscores' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'a name of letters, digits, dots, dashes and underscores' });

const basicAuth = z.strictObject({
  type: z.literal('basic', { error: 'basic (HTTP basic auth with username and password)' }).meta({ description: 'HTTP basic auth.' }),
  username: z.string({ error: 'a user name' }).min(1, { error: 'a non-empty user name' }).meta({ description: 'User name.' }),
  password: z.string({ error: 'a password (use ${ENV_VAR} to keep it out of the file)' })
    .meta({ description: 'Password; write ${ENV_VAR} to keep it out of the file.' }),
});

const bearerAuth = z.strictObject({
  type: z.literal('bearer', { error: 'bearer (with token)' }).meta({ description: 'Bearer token auth.' }),
  token: z.string({ error: 'a token (use ${ENV_VAR} to keep it out of the file)' }).min(1, { error: 'a non-empty token' })
    .meta({ description: 'Token sent as Authorization: Bearer; write ${ENV_VAR} to keep it out of the file.' }),
});


/** A boolean; the strings `true` and `false` are accepted because `${VAR}` substitution yields strings. */
const flag = z.preprocess((value) => {
  if (value === 'true' || value === 'false') {
    return value === 'true';
  }
  return value;
}, z.boolean({ error: 'true or false' }));

/** A fraction such as 0.5; numeric strings are accepted because `${VAR}` substitution yields strings. */
function share(min: number, max: number) {
  const hint = `a number from ${min} to ${max}`;
  return z.preprocess(
    (value) => (typeof value === 'string' && /^\d*\.?\d+$/.test(value.trim()) ? Number(value) : value),
    z.number({ error: hint }).min(min, { error: hint }).max(max, { error: hint }),
  );
}

/** OAuth 2.0 client credentials, as Camunda 8 SaaS and Identity issue them, or any identity provider in front of Camunda 7. */
const oauthAuth = z.strictObject({
  type: z.literal('oauth', { error: 'oauth (client credentials with clientId, clientSecret, tokenUrl)' }).meta({ description: 'OAuth 2.0 client credentials.' }),
  clientId: z.string({ error: 'a client id' }).min(1, { error: 'a non-empty client id' }).meta({ description: 'Client id.' }),
  clientSecret: z.string({ error: 'a client secret (use ${ENV_VAR} to keep it out of the file)' }).min(1, { error: 'a non-empty client secret' })
    .meta({ description: 'Client secret; write ${ENV_VAR} to keep it out of the file.' }),
  tokenUrl: httpUrl.meta({ description: 'Token endpoint, such as https://login.cloud.camunda.io/oauth/token.' }),
  audience: z.string({ error: 'a token audience' }).min(1, { error: 'a non-empty token audience' }).optional()
    .meta({ description: 'Audience of the token. Default: zeebe.camunda.io for camunda8, none for camunda7.' }),
  scope: z.string({ error: 'an OAuth scope' }).min(1, { error: 'a non-empty OAuth scope' }).optional().meta({ description: 'Scope of the token, when the identity provider needs one.' }),
  clientAuthentication: z.enum(['basic', 'body'], { error: 'basic (HTTP basic auth at the token endpoint) or body (client_id and client_secret in the form)' }).default('basic')
    .meta({ description: 'How the daemon authenticates at the token endpoint, with HTTP basic auth or with client_id and client_secret in the form; the camunda8 engine always uses the form.' }),
});

const serviceAuth = z.discriminatedUnion('type', [basicAuth, bearerAuth, oauthAuth], {
  error: 'an object with type: basic (username, password), type: bearer (token) or type: oauth (clientId, clientSecret, tokenUrl)',
});

const grpcAddress = z
  .string({ error: 'a gRPC address such as grpc://127.0.0.1:26500, or grpcs://host:443 for TLS' })
  .regex(/^grpcs?:\/\/[^\s/:]+:\d{1,5}$/, { error: 'a gRPC address such as grpc://127.0.0.1:26500, or grpcs://host:443 for TLS' });

const ENGINE_TYPES = ['camunda7', 'camunda8'] as const;

const engine = z.strictObject({
  type: z.enum(ENGINE_TYPES, { error: 'camunda7 (Camunda 7 or Operaton) or camunda8' }).default('camunda7')
    .meta({ description: 'Engine kind: camunda7 (Camunda 7 and Operaton share the same external-task REST API) or camunda8 (job workers over the REST API v2).' }),
  baseUrl: httpUrl.meta({ description: 'REST base URL of the engine, such as http://127.0.0.1:8080/engine-rest; for camunda8 the REST address without /v2, such as http://127.0.0.1:8080.' }),
  auth: z.discriminatedUnion('type', [basicAuth, oauthAuth], {
    error: 'an object with type: basic (username, password) or type: oauth (clientId, clientSecret, tokenUrl)',
  }).optional().meta({ description: 'Engine authentication: HTTP basic auth { type: basic, username, password }, or OAuth 2.0 client credentials { type: oauth, clientId, clientSecret, tokenUrl }.' }),
  tenantIds: z.array(z.string({ error: 'a tenant id' }).min(1, { error: 'a non-empty tenant id' }), { error: 'a list of tenant ids' })
    .min(1, { error: 'at least one tenant id' })
    .optional()
    .meta({ description: 'camunda8 only: tenants whose jobs are activated. Default: the engine\'s default tenant.' }),
  streaming: z.strictObject({ grpcAddress: grpcAddress.meta({ description: 'Gateway address: grpc://host:port, or grpcs://host:port for TLS.' }) })
    .optional()
    .meta({ description: 'camunda8 only: job streaming over gRPC next to REST activation.' }),
  workerId: name.optional().meta({ description: 'Worker id the engine records on locked tasks. Default: <hostname>-<pid>, which keeps replicas apart.' }),
  maxTasks: integer(1, 1000).default(10).meta({ description: 'Upper bound of tasks per fetch-and-lock request. A fetch asks for fewer when the services have less free capacity.' }),
  lockDuration: positiveDuration.default(30_000).meta({ description: 'Lock taken on each fetched task. A topic can override it.' }),
  asyncResponseTimeout: duration.default(10_000).meta({ description: 'Long-polling wait of a fetch-and-lock request; 0 turns long polling off.' }),
  pollInterval: duration.default(300).meta({ description: 'Pause between fetches when long polling is off and a fetch returned fewer than maxTasks.' }),
  requestTimeout: positiveDuration.default(30_000).meta({ description: 'Timeout of the daemon\'s own engine requests: definition XML, complete, failure, lock extension, unlock.' }),
  extendLockAt: share(0.1, 0.9).default(0.5).meta({ description: 'Share of the lock duration after which a task still running has its lock extended by a full lock duration.' }),
  includeExtensionProperties: flag.default(false)
    .meta({ description: 'camunda7 only: fetch each task with its activity\'s extension properties and route from them, without reading the definition XML.' }),
  failure: z
    .strictObject({
      retries: integer(0, 100).default(3).meta({ description: 'Attempts a task gets before the engine raises an incident.' }),
      retryTimeout: duration.default(1_000).meta({ description: 'Pause before the engine hands out a failed task again; it doubles with each attempt.' }),
      maxRetryTimeout: duration.default(300_000).meta({ description: 'Upper bound of that pause.' }),
    })
    .default({ retries: 3, retryTimeout: 1_000, maxRetryTimeout: 300_000 })
    .meta({ description: 'How failed tasks are reported to the engine.' }),
}, { error: 'an engine mapping with at least baseUrl, such as { baseUrl: http://127.0.0.1:8080/engine-rest }' })
  .superRefine(checkEngineType);

/** Rejects the keys that only one engine type understands, naming the type that needs them. */
function checkEngineType(
  engine: { type: string; baseUrl: string; auth?: { type: string }; tenantIds?: unknown; streaming?: unknown; includeExtensionProperties: boolean },
  context: z.RefinementCtx,
): void {
  if (engine.type === 'camunda8') {
    if (/\/v2\/?$/.test(engine.baseUrl)) {
      context.addIssue({ code: 'custom', path: ['baseUrl'], message: 'the REST address without /v2, such as http://127.0.0.1:8080; the adapter appends /v2' });
    }
    if (engine.includeExtensionProperties) {
      context.addIssue({ code: 'custom', path: ['includeExtensionProperties'], message: 'false; it needs engine.type: camunda7' });
    }
    return;
  }
  for (const key of ['tenantIds', 'streaming'] as const) {
    if (engine[key] !== undefined) {
      context.addIssue({ code: 'custom', path: [key], message: `no ${key} for ${engine.type}; it needs engine.type: camunda8` });
    }
  }
}

const retry = z.strictObject({
  maxAttempts: integer(1, 100).optional().meta({ description: 'Attempts per task inside the daemon, the first included, when an attempt ends in a transient error: a connection error, a timeout, or HTTP 429, 502, 503 or 504. Default: 3.' }),
  initialDelay: duration.optional().meta({ description: 'Pause before the second attempt; it doubles with each further attempt, with jitter. Default: 200ms.' }),
  maxDelay: duration.optional().meta({ description: 'Upper bound of that pause. Default: 5s.' }),
});

const breaker = z.strictObject({
  failureThreshold: integer(1, 10_000).optional().meta({ description: 'Consecutive transient errors of a service that open its breaker. Default: 3.' }),
  openDuration: duration.optional().meta({ description: 'How long the breaker stays open before it lets one probe request through. Default: 5s.' }),
  outageBudget: duration.optional().meta({ description: 'While an outage is shorter than this, its tasks go back to the engine unchanged, without using up a retry. Default: 5m.' }),
});

const batch = z.strictObject({
  path: routePath.meta({ description: 'Path of the service\'s batch endpoint, appended to its base URL.' }),
  maxSize: integer(1, 10_000).default(50).meta({ description: 'Maximum tasks in one batch request.' }),
  maxWait: duration.default(10).meta({ description: 'How long the first task of a batch waits for more before the batch is sent.' }),
});

const service = z.strictObject({
  baseUrl: httpUrl.meta({ description: "Base URL of the service; a route's path is appended to it." }),
  timeout: positiveDuration.default(10_000).meta({ description: 'Timeout of one request: the longest wait for the response headers, and the longest pause while the body arrives.' }),
  maxConcurrent: integer(1, 10_000).default(10).meta({ description: 'Requests in flight to the service at once. It also bounds the tasks the daemon locks for the service.' }),
  auth: serviceAuth.optional().meta({ description: '{ type: bearer, token }, { type: basic, username, password }, or OAuth 2.0 client credentials { type: oauth, clientId, clientSecret, tokenUrl }.' }),
  headers: z.record(z.string(), z.string({ error: 'a header value string' })).default({}).meta({ description: 'Extra headers sent with every request.' }),
  retry: retry.optional().meta({ description: 'Retries of transient errors for this service; each key left out comes from dispatch.retry.' }),
  breaker: breaker.optional().meta({ description: 'Circuit breaker of this service; each key left out comes from dispatch.breaker.' }),
  batch: batch.optional().meta({ description: 'Batch endpoint of the service. With it, every task routed to the service goes out in batch requests.' }),
  tls: z.strictObject({
    ca: z.string({ error: 'the path of a PEM file with the CA certificates to trust' }).min(1, { error: 'the path of a PEM file with the CA certificates to trust' })
      .meta({ description: 'PEM file with the CA certificates to trust for an https baseUrl, in place of the default set; a relative path resolves against the configuration file\'s folder.' }),
  }).optional().meta({ description: 'TLS settings of the connection to the service.' }),
}, { error: 'a service mapping such as { baseUrl: http://127.0.0.1:9000, timeout: 5s }' });

const dispatch = z.strictObject({
  retry: retry.default({}).meta({ description: 'Retries of transient errors, for in-process handlers and for services without their own.' }),
  breaker: breaker.default({}).meta({ description: 'Circuit breaker settings of services without their own.' }),
  handlers: z
    .strictObject({
      maxConcurrent: integer(1, 10_000).default(32)
        .meta({ description: 'In-process handlers running at once; it also bounds the tasks locked for handler topics.' }),
    })
    .default({ maxConcurrent: 32 })
    .meta({ description: 'In-process handler modules.' }),
});

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const method = z.preprocess(
  (value) => (typeof value === 'string' ? value.toUpperCase() : value),
  z.enum(HTTP_METHODS, { error: `one of ${HTTP_METHODS.join(', ')}` }),
);

const errorCode = z
  .string({ error: 'a BPMN error code' })
  .regex(/^\S+$/, { error: 'a BPMN error code without spaces' });

const errorMapping = z.union(
  [
    errorCode,
    z.strictObject({ code: errorCode, message: z.string().optional() }),
  ],
  { error: 'a BPMN error code, or { code, message }' },
);

/** Builds the schema of a non-empty list of non-empty strings, such as tenant ids. */
function stringList(what: string) {
  return z
    .array(z.string({ error: what }).min(1, { error: `a non-empty ${what}` }), { error: `a list of ${what}s` })
    .min(1, { error: `at least one ${what}` });
}

const variableTypes = z.record(
  z.string().min(1, { error: 'a variable name' }),
  z.string({ error: DECLARED_TYPE_HINT }).refine((value) => parseDeclaredType(value) !== undefined, { error: DECLARED_TYPE_HINT }),
  { error: 'a mapping of variable names to engine types, such as { dueDate: Date, order: Object }' },
);

const statusKey = z.string().regex(/^[1-5]\d\d$/, { error: 'an HTTP status code from 100 to 599' });

const topic = z
  .strictObject({
    topic: z.string({ error: 'the engine topic name' }).min(1, { error: 'a non-empty topic name' }).meta({ description: 'The external task topic (camunda:topic).' }),
    service: name.optional().meta({ description: 'Default service of the topic\'s tasks. An activity may name another with its service property.' }),
    path: routePath.optional().meta({ description: 'Path appended to the service\'s base URL. Default: /.' }),
    method: method.default('POST').meta({ description: 'HTTP method. GET and DELETE send no body.' }),
    variables: z.array(z.string({ error: 'a variable name' }), { error: 'a list of variable names' }).optional().meta({ description: 'Names of the process variables fetched with each task and sent to the service. Default: all variables.' }),
    localVariables: flag.default(false).meta({ description: 'camunda7 only: fetch only the variables local to the task\'s execution.' }),
    resultVariable: z.string({ error: 'a variable name' }).min(1).optional().meta({ description: 'Process variable that receives the whole response body.' }),
    variableTypes: variableTypes.default({}).meta({ description: 'camunda7 only: engine types of result variables by name, such as { dueDate: Date, order: Object }.' }),
    errors: z.record(statusKey, errorMapping).default({}).meta({ description: 'HTTP status to BPMN error: 409: OUT_OF_STOCK, or 409: { code: OUT_OF_STOCK, message: ... }.' }),
    handler: z.string({ error: 'the path of a handler module, e.g. workers/audit-log.ts' }).min(1).optional().meta({ description: 'In-process handler module instead of a service; a relative path resolves against the configuration file\'s folder.' }),
    lockDuration: positiveDuration.optional().meta({ description: 'Lock duration of this topic\'s tasks. Default: engine.lockDuration.' }),
    tenantIds: stringList('tenant id').optional().meta({ description: 'camunda7 only: fetch only tasks of these tenants.' }),
    withoutTenantId: flag.default(false).meta({ description: 'camunda7 only: fetch only tasks that belong to no tenant.' }),
    processDefinitionKeys: stringList('process definition key').optional().meta({ description: 'camunda7 only: fetch only tasks of these process definition keys.' }),
    processDefinitionVersionTag: z.string({ error: 'a version tag' }).min(1, { error: 'a non-empty version tag' }).optional()
      .meta({ description: 'camunda7 only: fetch only tasks whose process definition has this version tag.' }),
    businessKey: z.string({ error: 'a business key' }).min(1, { error: 'a non-empty business key' }).optional()
      .meta({ description: 'camunda7 only: fetch only tasks of process instances with this business key.' }),
  }, { error: 'a topic entry such as { topic: reserve-stock, service: inventory }' })
  .refine((value) => !(value.service !== undefined && value.handler !== undefined), {
    error: 'either service or handler, not both',
  })
  .refine((value) => !(value.tenantIds !== undefined && value.withoutTenantId), {
    error: 'either tenantIds or withoutTenantId: true, not both; the engine cannot fetch both in one topic, so add a second entry of the topic',
    path: ['withoutTenantId'],
  })
  .meta({ not: { required: ['service', 'handler'] } });


/** A number in a range; numeric strings are accepted because `${VAR}` substitution yields strings. */
function decimal(min: number, max: number) {
  const hint = `a number from ${min} to ${max}`;
  return z.preprocess(
    (value) => (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value),
    z.number({ error: hint }).min(min, { error: hint }).max(max, { error: hint }),
  );
}

interface CacheDefaults {
  ttl: number;
  maxTtl: number;
  maxEntries: number;
  maxBytes: number;
}

/** The keys of one in-memory cache. Every bound has a default and none can be turned off. */
function cacheFields(defaults: CacheDefaults) {
  return {
    ttl: positiveDuration.default(defaults.ttl).meta({ description: 'Lifetime of an entry that has not been read yet.' }),
    maxTtl: positiveDuration.optional().meta({ description: 'Upper bound of an entry\'s lifetime after reads; at least ttl. Default: the section\'s cap, or ttl when that is longer.' }),
    ttlGrowth: decimal(1, 1000).default(2).meta({ description: 'Factor by which each read multiplies an entry\'s lifetime; 1 keeps it at ttl.' }),
    maxEntries: integer(1, 10_000_000).default(defaults.maxEntries).meta({ description: 'Maximum entries; the least recently used entry is evicted first.' }),
    maxBytes: integer(1_024, Number.MAX_SAFE_INTEGER).default(defaults.maxBytes).meta({ description: 'Approximate memory bound in bytes; an entry larger than it is not cached.' }),
  };
}

interface TtlPair {
  ttl: number;
  maxTtl?: number | undefined;
}

const MAX_TTL_CHECK = {
  check: (value: TtlPair) => value.maxTtl === undefined || value.maxTtl >= value.ttl,
  hint: { error: 'a maxTtl at least as long as ttl', path: ['maxTtl'] },
};

/** Fills `maxTtl`: without one, a ttl above the default cap raises the cap with it. */
function fillMaxTtl<T extends TtlPair>(value: T, defaultMaxTtl: number): T & { maxTtl: number } {
  return { ...value, maxTtl: value.maxTtl ?? Math.max(defaultMaxTtl, value.ttl) };
}

function cacheSection(defaults: CacheDefaults) {
  return z
    .strictObject(cacheFields(defaults))
    .refine(MAX_TTL_CHECK.check, MAX_TTL_CHECK.hint)
    .transform((value) => fillMaxTtl(value, defaults.maxTtl))
    .prefault({});
}

const MIB = 1024 * 1024;

const DEFINITION_CACHE_DEFAULTS: CacheDefaults = { ttl: 3_600_000, maxTtl: 86_400_000, maxEntries: 1_000, maxBytes: 256 * MIB };

const redisUrl = z
  .string({ error: 'a redis:// or rediss:// URL' })
  .refine((value) => /^rediss?:\/\/[^\s/]+/.test(value) && URL.canParse(value), {
    error: 'a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0',
  })
  .meta({ pattern: '^rediss?://[^\\s/]+' });

const redis = z.strictObject({
  url: redisUrl.meta({ description: 'redis:// or rediss:// URL, with the database number as its path.' }),
  password: z.string({ error: 'a password (use ${ENV_VAR} to keep it out of the file)' }).optional()
    .meta({ description: 'Password, when it is not in the URL.' }),
  keyPrefix: z
    .string({ error: 'a key prefix of printable characters without spaces' })
    .regex(/^[\x21-\x7e]{1,100}$/, { error: 'a key prefix of 1 to 100 printable characters without spaces' })
    .default('bpmn-task-router:')
    .meta({ description: 'Prefix of every key, so deployments sharing a Redis stay apart.' }),
  ttl: positiveDuration.default(86_400_000).meta({ description: 'Expiry of a model written to Redis.' }),
  connectTimeout: positiveDuration.default(2_000).meta({ description: 'Timeout of one connection attempt.' }),
  commandTimeout: positiveDuration.default(250).meta({ description: 'Timeout of one Redis command; past it the definition is read from the engine.' }),
});

const cache = z
  .strictObject({
    definitions: z
      .strictObject({
        ...cacheFields(DEFINITION_CACHE_DEFAULTS),
        latestVersionTtl: positiveDuration.default(30_000)
          .meta({ description: "Fixed lifetime of a process key's latest definition id; reads do not extend it." }),
      })
      .refine(MAX_TTL_CHECK.check, MAX_TTL_CHECK.hint)
      .transform((value) => fillMaxTtl(value, DEFINITION_CACHE_DEFAULTS.maxTtl))
      .prefault({})
      .meta({ description: 'Parsed definitions by definition id.' }),
    properties: cacheSection({ ttl: 3_600_000, maxTtl: 86_400_000, maxEntries: 100_000, maxBytes: 64 * MIB }).meta({ description: 'One activity\'s extension properties, by definition id and activity id.' }),
    docs: cacheSection({ ttl: 600_000, maxTtl: 3_600_000, maxEntries: 10_000, maxBytes: 16 * MIB }).meta({ description: 'One activity\'s documentation, by definition id and activity id.' }),
    purgeInterval: duration.default(60_000).meta({ description: 'Pause between two sweeps that remove expired entries from all caches; 0 turns the sweep off.' }),
    reportedEntries: integer(0, 1_000).default(10).meta({ description: 'How many of the most read entries each cache lists in getMetrics().' }),
    redis: redis.optional().meta({ description: 'Optional second cache tier in Redis, shared by the replicas of a deployment.' }),
  })
  .prefault({});

/** Limits that a definition's XML must meet before and while it is parsed. */
const definitions = z
  .strictObject({
    maxBytes: integer(1_024, 32 * MIB).default(16 * MIB).meta({ description: 'Maximum size of a definition\'s XML in bytes.' }),
    maxDepth: integer(16, 10_000).default(256).meta({ description: 'Maximum element nesting.' }),
    maxElements: integer(100, 50_000_000).default(500_000).meta({ description: 'Maximum number of elements.' }),
  })
  .prefault({});

const listenHost = z
  .string({ error: 'a host name or IP address to listen on, such as 127.0.0.1, ::1 or 0.0.0.0' })
  .regex(/^[A-Za-z0-9.:-]+$/, { error: 'a host name or IP address to listen on, such as 127.0.0.1, ::1 or 0.0.0.0' });

const exportHeaders = z.record(z.string(), z.string({ error: 'a header value string' })).default({});

/** Traces and metrics export, and the health and metrics server. */
const telemetry = z
  .strictObject({
    serviceName: name.default('bpmn-task-router').meta({ description: 'service.name of exported spans and metrics.' }),
    tracing: z
      .strictObject({
        endpoint: httpUrl.optional().meta({ description: 'OTLP/HTTP traces URL, such as http://127.0.0.1:4318/v1/traces. Without it no spans are recorded.' }),
        headers: exportHeaders.meta({ description: 'Headers sent with each trace export.' }),
        sampleRatio: share(0, 1).default(1).meta({ description: 'Share of process instances whose traces are recorded, from 0 to 1.' }),
      })
      .prefault({})
      .meta({ description: 'Traces exported over OTLP/HTTP.' }),
    metrics: z
      .strictObject({
        otlp: z
          .strictObject({
            endpoint: httpUrl.meta({ description: 'OTLP/HTTP metrics URL, such as http://127.0.0.1:4318/v1/metrics.' }),
            headers: exportHeaders.meta({ description: 'Headers sent with each metrics export.' }),
            interval: positiveDuration.default(60_000).meta({ description: 'Pause between two metrics exports.' }),
          })
          .optional()
          .meta({ description: 'OTLP/HTTP metrics export. Without it metrics are only served on /metrics.' }),
      })
      .prefault({})
      .meta({ description: 'Metrics export; /metrics on telemetry.server serves them to Prometheus either way.' }),
    server: z
      .strictObject({
        host: listenHost.default('127.0.0.1').meta({ description: 'Listen address; use 0.0.0.0 in a container.' }),
        port: integer(0, 65_535).default(9464).meta({ description: 'Listen port; 0 picks a free one.' }),
      })
      .optional()
      .meta({ description: 'Listen address of /metrics, /healthz and /readyz. Without it no port is opened.' }),
    health: z.strictObject({
      stallGrace: positiveDuration.default(30_000)
        .meta({ description: 'How long a fetch-loop step may run past its expected end before /healthz reports the loop stalled.' }),
    }).prefault({}).meta({ description: 'Thresholds of the /healthz probe.' }),
  })
  .prefault({});

/** A process definition key: the process id of a BPMN file, an XML name without spaces or commas. */
const processKey = z
  .string({ error: 'a process definition key such as order-process' })
  .regex(/^[^\s,:]+$/, { error: 'a process definition key such as order-process, without spaces, commas or colons' });

/** Smallest byte bound of the prediction model: a few small definitions. */
const MIN_PREDICTION_BYTES = 16_384;

/** Next-task prediction, prefetching and preloading; see docs/configuration.md. */
const prediction = z
  .strictObject({
    enabled: flag.default(true)
      .meta({ description: 'Whether tasks are counted, predicted and prefetched for. Preloading and prefetchCommonActivities() work either way.' }),
    minProbability: share(0, 1).default(0.2)
      .meta({ description: 'Smallest predicted probability, from 0 to 1, for which an activity is prepared or a called process loaded.' }),
    maxPrefetches: integer(0, 100).default(3).meta({ description: 'Predicted activities prepared after each task, at most.' }),
    prefetchWindow: positiveDuration.default(600_000)
      .meta({ description: 'How long a prepared activity or loaded definition waits for a task that needs it before it counts as unused.' }),
    maxDefinitions: integer(1, 1_000_000).default(1_000)
      .meta({ description: 'Definitions whose counts are kept at once; it also bounds the process keys watched for new versions.' }),
    maxBytesPerDefinition: integer(MIN_PREDICTION_BYTES, Number.MAX_SAFE_INTEGER).default(4 * MIB)
      .meta({ description: "Estimated bytes of one definition's graph, counts and cached predictions; at most maxBytes." }),
    maxBytes: integer(MIN_PREDICTION_BYTES, Number.MAX_SAFE_INTEGER).default(64 * MIB)
      .meta({ description: 'Estimated bytes of the whole prediction model.' }),
    maxInstances: integer(1, 10_000_000).default(100_000)
      .meta({ description: 'Process instances whose last task is remembered; it also bounds the prefetches waiting for their task.' }),
    preloadInterval: duration.default(1_000)
      .meta({ description: "Pause between two listings of the engine's latest definitions, to preload new versions; 0 turns the watch off." }),
    preloadProcessKeys: z.array(processKey, { error: 'a list of process definition keys' }).default([])
      .meta({ description: 'Process keys watched for new versions from the start, besides those seen on tasks.' }),
    shared: z.strictObject({
      syncInterval: positiveDuration.default(5_000)
        .meta({ description: 'Pause between two exchanges of counts with Redis.' }),
    }).optional().meta({ description: 'Shares the counts between replicas through cache.redis, which must be configured.' }),
  })
  // zod runs this check even when a bound failed its own range, so an out-of-range maxBytes is left to that message.
  .refine((value) => value.maxBytes < MIN_PREDICTION_BYTES || value.maxBytesPerDefinition <= value.maxBytes, {
    error: 'a maxBytesPerDefinition no larger than maxBytes',
    path: ['maxBytesPerDefinition'],
  })
  .prefault({});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = z.strictObject({
  engine: engine.meta({ description: 'The workflow engine the daemon fetches tasks from.' }),
  services: z.record(name, service).default({}).meta({ description: 'Downstream HTTP services by name.' }),
  dispatch: dispatch.default({ retry: {}, breaker: {}, handlers: { maxConcurrent: 32 } }).meta({ description: 'Settings that apply to every service unless it sets its own, and to in-process handlers.' }),
  topics: z.array(topic, { error: 'a list of topic entries' }).min(1, { error: 'at least one topic' }).meta({ description: 'Engine topics to subscribe to, each with the defaults of its route.' }),
  cache: cache.meta({ description: 'Bounds and expiry of the in-memory caches, and the optional Redis tier.' }),
  definitions: definitions.meta({ description: "Limits that a definition's XML must meet before and while it is parsed." }),
  telemetry: telemetry.meta({ description: 'Traces and metrics export, and the health and metrics server.' }),
  prediction: prediction.meta({ description: 'Next-task prediction, prefetching of the likely next tasks, and preloading of new definition versions.' }),
  logging: z
    .strictObject({
      level: z.enum(LOG_LEVELS, { error: `one of ${LOG_LEVELS.join(', ')}` }).default('info')
        .meta({ description: 'Log level. Logs are JSON lines on standard output.' }),
    })
    .default({ level: 'info' })
    .meta({ description: 'The structured JSON logger.' }),
  shutdown: z
    .strictObject({
      gracePeriod: duration.default(30_000)
        .meta({ description: 'After SIGTERM or SIGINT, how long tasks in flight may take to finish before they are unlocked.' }),
    })
    .default({ gracePeriod: 30_000 })
    .meta({ description: 'Graceful stop after SIGTERM or SIGINT.' }),
});

/** The configuration as validated, before references between sections are checked. */
export type ValidatedConfig = z.output<typeof configSchema>;
