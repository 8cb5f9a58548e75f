/**
 * The configuration file's schema. Every field's `error` text says what is
 * allowed, because the loader prints it next to the key path and the value
 * it received.
 */
import { z } from 'zod';

import { parseDuration } from './duration.ts';

const DURATION_HINT = 'a duration: milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h';

/** A duration, parsed to milliseconds. */
const duration = z
  .union([z.number(), z.string()], { error: DURATION_HINT })
  .transform((value, context) => {
    const milliseconds = parseDuration(value);
    if (milliseconds === undefined) {
      context.addIssue({ code: 'custom', message: DURATION_HINT });
      return z.NEVER;
    }
    return milliseconds;
  });

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
  });

const name = z
  .string({ error: 'a name of letters, digits, dots, dashes and underscores' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'a name of letters, digits, dots, dashes and underscores' });

const basicAuth = z.strictObject({
  type: z.literal('basic', { error: 'basic (HTTP basic auth with username and password)' }),
  username: z.string({ error: 'a user name' }).min(1, { error: 'a non-empty user name' }),
  password: z.string({ error: 'a password (use ${ENV_VAR} to keep it out of the file)' }),
});

const bearerAuth = z.strictObject({
  type: z.literal('bearer', { error: 'bearer (with token)' }),
  token: z.string({ error: 'a token (use ${ENV_VAR} to keep it out of the file)' }).min(1, { error: 'a non-empty token' }),
});

const auth = z.discriminatedUnion('type', [basicAuth, bearerAuth], {
  error: 'an object with type: basic (username, password) or type: bearer (token)',
});

/** A fraction such as 0.5; numeric strings are accepted because `${VAR}` substitution yields strings. */
function share(min: number, max: number) {
  const hint = `a number from ${min} to ${max}`;
  return z.preprocess(
    (value) => (typeof value === 'string' && /^\d*\.?\d+$/.test(value.trim()) ? Number(value) : value),
    z.number({ error: hint }).min(min, { error: hint }).max(max, { error: hint }),
  );
}

const engine = z.strictObject({
  type: z.literal('camunda7', { error: 'camunda7' }).default('camunda7'),
  baseUrl: httpUrl,
  auth: basicAuth.optional(),
  workerId: name.optional(),
  maxTasks: integer(1, 1000).default(10),
  lockDuration: positiveDuration.default(30_000),
  asyncResponseTimeout: duration.default(10_000),
  pollInterval: duration.default(300),
  requestTimeout: positiveDuration.default(30_000),
  extendLockAt: share(0.1, 0.9).default(0.5),
  failure: z
    .strictObject({
      retries: integer(0, 100).default(3),
      retryTimeout: duration.default(1_000),
      maxRetryTimeout: duration.default(300_000),
    })
    .default({ retries: 3, retryTimeout: 1_000, maxRetryTimeout: 300_000 }),
}, { error: 'an engine mapping with at least baseUrl, such as { baseUrl: http://127.0.0.1:8080/engine-rest }' });

const retry = z.strictObject({
  maxAttempts: integer(1, 100).optional(),
  initialDelay: duration.optional(),
  maxDelay: duration.optional(),
});

const breaker = z.strictObject({
  failureThreshold: integer(1, 10_000).optional(),
  openDuration: duration.optional(),
  outageBudget: duration.optional(),
});

const batch = z.strictObject({
  path: z.string({ error: 'a path starting with /' }).startsWith('/', { error: 'a path starting with /' }),
  maxSize: integer(1, 10_000).default(50),
  maxWait: duration.default(10),
});

const service = z.strictObject({
  baseUrl: httpUrl,
  timeout: positiveDuration.default(10_000),
  maxConcurrent: integer(1, 10_000).default(10),
  auth: auth.optional(),
  headers: z.record(z.string(), z.string({ error: 'a header value string' })).default({}),
  retry: retry.optional(),
  breaker: breaker.optional(),
  batch: batch.optional(),
}, { error: 'a service mapping such as { baseUrl: http://127.0.0.1:9000, timeout: 5s }' });

const dispatch = z.strictObject({
  retry: retry.default({}),
  breaker: breaker.default({}),
  handlers: z
    .strictObject({ maxConcurrent: integer(1, 10_000).default(32) })
    .default({ maxConcurrent: 32 }),
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

const statusKey = z.string().regex(/^[1-5]\d\d$/, { error: 'an HTTP status code from 100 to 599' });

const topic = z
  .strictObject({
    topic: z.string({ error: 'the engine topic name' }).min(1, { error: 'a non-empty topic name' }),
    service: name.optional(),
    path: z.string({ error: 'a path starting with /' }).startsWith('/', { error: 'a path starting with /' }).optional(),
    method: method.default('POST'),
    variables: z.array(z.string({ error: 'a variable name' }), { error: 'a list of variable names' }).optional(),
    resultVariable: z.string({ error: 'a variable name' }).min(1).optional(),
    errors: z.record(statusKey, errorMapping).default({}),
    handler: z.string({ error: 'the path of a handler module, e.g. workers/audit-log.ts' }).min(1).optional(),
    lockDuration: positiveDuration.optional(),
  }, { error: 'a topic entry such as { topic: reserve-stock, service: inventory }' })
  .refine((value) => !(value.service !== undefined && value.handler !== undefined), {
    error: 'either service or handler, not both',
  });


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
    ttl: positiveDuration.default(defaults.ttl),
    maxTtl: positiveDuration.optional(),
    ttlGrowth: decimal(1, 1000).default(2),
    maxEntries: integer(1, 10_000_000).default(defaults.maxEntries),
    maxBytes: integer(1_024, Number.MAX_SAFE_INTEGER).default(defaults.maxBytes),
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
  });

const redis = z.strictObject({
  url: redisUrl,
  password: z.string({ error: 'a password (use ${ENV_VAR} to keep it out of the file)' }).optional(),
  keyPrefix: z
    .string({ error: 'a key prefix of printable characters without spaces' })
    .regex(/^[\x21-\x7e]{1,100}$/, { error: 'a key prefix of 1 to 100 printable characters without spaces' })
    .default('bpmn-task-router:'),
  ttl: positiveDuration.default(86_400_000),
  connectTimeout: positiveDuration.default(2_000),
  commandTimeout: positiveDuration.default(250),
});

const cache = z
  .strictObject({
    definitions: z
      .strictObject({ ...cacheFields(DEFINITION_CACHE_DEFAULTS), latestVersionTtl: positiveDuration.default(30_000) })
      .refine(MAX_TTL_CHECK.check, MAX_TTL_CHECK.hint)
      .transform((value) => fillMaxTtl(value, DEFINITION_CACHE_DEFAULTS.maxTtl))
      .prefault({}),
    properties: cacheSection({ ttl: 3_600_000, maxTtl: 86_400_000, maxEntries: 100_000, maxBytes: 64 * MIB }),
    docs: cacheSection({ ttl: 600_000, maxTtl: 3_600_000, maxEntries: 10_000, maxBytes: 16 * MIB }),
    purgeInterval: duration.default(60_000),
    reportedEntries: integer(0, 1_000).default(10),
    redis: redis.optional(),
  })
  .prefault({});

/** Limits that a definition's XML must meet before and while it is parsed. */
const definitions = z
  .strictObject({
    maxBytes: integer(1_024, 32 * MIB).default(16 * MIB),
    maxDepth: integer(16, 10_000).default(256),
    maxElements: integer(100, 50_000_000).default(500_000),
  })
  .prefault({});

const listenHost = z
  .string({ error: 'a host name or IP address to listen on, such as 127.0.0.1, ::1 or 0.0.0.0' })
  .regex(/^[A-Za-z0-9.:-]+$/, { error: 'a host name or IP address to listen on, such as 127.0.0.1, ::1 or 0.0.0.0' });

const exportHeaders = z.record(z.string(), z.string({ error: 'a header value string' })).default({});

/** Traces and metrics export, and the health and metrics server. */
const telemetry = z
  .strictObject({
    serviceName: name.default('bpmn-task-router'),
    tracing: z
      .strictObject({
        endpoint: httpUrl.optional(),
        headers: exportHeaders,
        sampleRatio: share(0, 1).default(1),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        otlp: z
          .strictObject({ endpoint: httpUrl, headers: exportHeaders, interval: positiveDuration.default(60_000) })
          .optional(),
      })
      .prefault({}),
    server: z
      .strictObject({ host: listenHost.default('127.0.0.1'), port: integer(0, 65_535).default(9464) })
      .optional(),
    health: z.strictObject({ stallGrace: positiveDuration.default(30_000) }).prefault({}),
  })
  .prefault({});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = z.strictObject({
  engine,
  services: z.record(name, service).default({}),
  dispatch: dispatch.default({ retry: {}, breaker: {}, handlers: { maxConcurrent: 32 } }),
  topics: z.array(topic, { error: 'a list of topic entries' }).min(1, { error: 'at least one topic' }),
  cache,
  definitions,
  telemetry,
  logging: z
    .strictObject({ level: z.enum(LOG_LEVELS, { error: `one of ${LOG_LEVELS.join(', ')}` }).default('info') })
    .default({ level: 'info' }),
  shutdown: z
    .strictObject({ gracePeriod: duration.default(30_000) })
    .default({ gracePeriod: 30_000 }),
});

/** The configuration as validated, before references between sections are checked. */
export type ValidatedConfig = z.output<typeof configSchema>;
