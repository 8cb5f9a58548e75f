/**
 * The compiled configuration: validated, defaults filled, durations in
 * milliseconds, references between sections checked, and frozen. Nothing
 * downstream reads raw YAML or environment variables.
 */
import type { ParseLimits } from '../definitions/model.ts';
import type { DeclaredType } from '../engine/typed-variable.ts';

export interface BasicAuth {
  type: 'basic';
  username: string;
  password: string;
}

export interface BearerAuth {
  type: 'bearer';
  token: string;
}

export type ServiceAuth = BasicAuth | BearerAuth | OAuthClientCredentials;

/** OAuth 2.0 client credentials: the daemon fetches an access token and sends it as a bearer token. */
export interface OAuthClientCredentials {
  type: 'oauth';
  clientId: string;
  clientSecret: string;
  tokenUrl: string;
  /** The `audience` form parameter that some identity providers require; Camunda 8 always has one. */
  audience: string | undefined;
  scope: string | undefined;
  /** Client authentication at the token endpoint: HTTP basic (RFC 6749's default) or the form body. The Camunda 8 SDK always uses the form. */
  clientAuthentication: 'basic' | 'body';
}

export type EngineAuth = BasicAuth | OAuthClientCredentials;

export type EngineType = 'camunda7' | 'camunda8';

export interface EngineOptions {
  type: EngineType;
  /**
   * REST base URL without a trailing slash: `http://127.0.0.1:8080/engine-rest` for Camunda 7,
   * the REST address without `/v2` (e.g. `http://127.0.0.1:8080`) for Camunda 8.
   */
  baseUrl: string;
  /** Basic auth or OAuth client credentials, for either engine. */
  auth: EngineAuth | undefined;
  /** Camunda 8: tenants whose jobs are activated; undefined leaves the choice to the engine (its default tenant). */
  tenantIds: readonly string[] | undefined;
  /** Camunda 8: job streaming over gRPC next to REST activation; undefined activates over REST only. */
  streaming: { grpcAddress: string } | undefined;
  workerId: string;
  /** Maximum tasks per fetch-and-lock request. */
  maxTasks: number;
  lockDurationMs: number;
  /** Long-polling timeout of fetch-and-lock. */
  asyncResponseTimeoutMs: number;
  /** Pause between two fetch-and-lock requests. */
  pollIntervalMs: number;
  /** Timeout of the daemon's own engine requests (definition XML, complete, failure). */
  requestTimeoutMs: number;
  /** Share of a task's lock duration after which a running task's lock is extended, from 0.1 to 0.9. */
  extendLockAt: number;
  /** Fetch each task with its activity's extension properties, so routing reads no definition XML. */
  includeExtensionProperties: boolean;
  failure: {
    /** Retries given to a task whose first attempt failed, when the engine has none set yet. */
    retries: number;
    /** Retry timeout after the first failure; it doubles with each further attempt. */
    retryTimeoutMs: number;
    maxRetryTimeoutMs: number;
  };
}

export interface ServiceOptions {
  name: string;
  /** Base URL without a trailing slash. */
  baseUrl: string;
  timeoutMs: number;
  /** Maximum requests in flight to this service. */
  maxConcurrent: number;
  auth: ServiceAuth | undefined;
  headers: Readonly<Record<string, string>>;
  retry: RetryOptions;
  breaker: BreakerOptions;
  /** The service's batch endpoint; undefined sends one request per task. */
  batch: BatchOptions | undefined;
  /** CA certificates (PEM) trusted for an https baseUrl instead of Node's default set; undefined keeps the default. */
  tls?: { ca: string } | undefined;
}

/** Retries of transient errors inside the daemon, before a failure is reported to the engine. */
export interface RetryOptions {
  /** Attempts per task, the first included. */
  maxAttempts: number;
  /** Pause before the second attempt; it doubles with each further attempt. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Circuit breaker of one service. */
export interface BreakerOptions {
  /** Consecutive transient failures that open the breaker. */
  failureThreshold: number;
  /** Time the breaker stays open before one probe request may pass. */
  openDurationMs: number;
  /** While an outage is shorter than this, its tasks go back to the engine unchanged instead of failing. */
  outageBudgetMs: number;
}

/** A service's batch endpoint. */
export interface BatchOptions {
  /** Path appended to the service's base URL. */
  path: string;
  /** Maximum tasks in one batch request. */
  maxSize: number;
  /** Maximum time the first task of a batch waits for more. */
  maxWaitMs: number;
}

/** Settings of dispatch that apply to every service and handler. */
export interface DispatchOptions {
  /** Retry settings of in-process handlers, and of services without their own. */
  retry: RetryOptions;
  /** Breaker settings of services without their own. */
  breaker: BreakerOptions;
  /** In-process handlers running at once. */
  handlerConcurrency: number;
}

export interface BpmnErrorMapping {
  code: string;
  message: string | undefined;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TopicOptions {
  /** Engine topic name. Several entries may share one when their tenants or process definition keys do not overlap. */
  topic: string;
  /** Default service; an activity's `service` property overrides it. */
  service: string | undefined;
  path: string | undefined;
  method: HttpMethod;
  /** Variables fetched with the task and sent to the service; undefined fetches and sends all. */
  variables: readonly string[] | undefined;
  /** Fetch only the variables local to the task's execution. */
  localVariables: boolean;
  resultVariable: string | undefined;
  /** Engine types of result variables, by variable name. */
  variableTypes: ReadonlyMap<string, DeclaredType>;
  /** HTTP status to BPMN error. */
  errors: ReadonlyMap<number, BpmnErrorMapping>;
  /** Absolute path of an in-process handler module. */
  handler: string | undefined;
  lockDurationMs: number;
  /** Fetch only tasks of these tenants; undefined fetches every tenant's, unless `withoutTenantId`. */
  tenantIds: readonly string[] | undefined;
  /** Fetch only tasks that belong to no tenant. */
  withoutTenantId: boolean;
  /** Fetch only tasks of these process definition keys; undefined fetches all. */
  processDefinitionKeys: readonly string[] | undefined;
  /** Fetch only tasks whose process definition has this version tag. */
  processDefinitionVersionTag: string | undefined;
  /** Fetch only tasks of process instances with this business key. */
  businessKey: string | undefined;
}

/**
 * Bounds and expiry of one in-memory cache. An entry lives `ttlMs` until its
 * first read; each read sets its remaining lifetime to
 * `min(maxTtlMs, ttlMs × ttlGrowthⁿ)` after the n-th read.
 */
export interface CacheOptions {
  ttlMs: number;
  maxTtlMs: number;
  ttlGrowth: number;
  maxEntries: number;
  /** Approximate memory bound in bytes. */
  maxBytes: number;
}

export interface DefinitionCacheOptions extends CacheOptions {
  /** Fixed lifetime of a process key's latest definition id; reads do not extend it, since a new version may be deployed. */
  latestVersionTtlMs: number;
}

/** The optional Redis tier shared by replicas. */
export interface RedisOptions {
  /** `redis://` or `rediss://` URL; may carry the user, password and database number. */
  url: string;
  password: string | undefined;
  /** Prefix of every key the daemon writes, so replicas of one deployment share entries and others stay apart. */
  keyPrefix: string;
  /** Expiry of an entry written to Redis. */
  ttlMs: number;
  connectTimeoutMs: number;
  /** Timeout of one Redis command; past it the definition is read from the engine. */
  commandTimeoutMs: number;
}

export interface CachesOptions {
  /** Parsed definitions by definition id. */
  definitions: DefinitionCacheOptions;
  /** Activity properties by definition id and activity id. */
  properties: CacheOptions;
  /** Activity documentation by definition id and activity id. */
  docs: CacheOptions;
  /** Pause between two sweeps that remove expired entries; 0 turns the sweep off. */
  purgeIntervalMs: number;
  /** Most read entries listed per cache in the metrics. */
  reportedEntries: number;
  redis: RedisOptions | undefined;
}

/** OpenTelemetry export and the health and metrics server. */
export interface TelemetryConfig {
  /** `service.name` of exported spans and metrics. */
  serviceName: string;
  tracing: {
    /** OTLP/HTTP traces URL; undefined turns tracing off. */
    endpoint: string | undefined;
    headers: Readonly<Record<string, string>>;
    /** Share of process instances whose traces are recorded, from 0 to 1. */
    sampleRatio: number;
  };
  metrics: {
    /** OTLP/HTTP metrics export; undefined leaves metrics to the Prometheus endpoint. */
    otlp: { endpoint: string; headers: Readonly<Record<string, string>>; intervalMs: number } | undefined;
  };
  /** Listen address of `/metrics`, `/healthz` and `/readyz`; undefined starts no server. */
  server: { host: string; port: number } | undefined;
  health: {
    /** Time a fetch-loop step may run past its expected end before `/healthz` reports the loop stalled. */
    stallGraceMs: number;
  };
}

/** Next-task prediction, prefetching and the preloading of new definition versions. */
export interface PredictionOptions {
  /** Whether tasks are counted, predicted and prefetched for. `prefetchCommonActivities()` works either way. */
  enabled: boolean;
  /** Smallest probability of a predicted activity (or a called process) for which it is prefetched. */
  minProbability: number;
  /** Predicted activities prefetched after each task, at most. */
  maxPrefetches: number;
  /** How long a prefetched item waits for a task that needs it before it counts as unused. */
  prefetchWindowMs: number;
  /** Definitions whose counts are kept at once. */
  maxDefinitions: number;
  /** Estimated bytes of one definition's graph, counts and cached priors. */
  maxBytesPerDefinition: number;
  /** Estimated bytes of the whole model. */
  maxBytes: number;
  /** Process instances whose last task is remembered; it also bounds the prefetches waiting for their task. */
  maxInstances: number;
  /** Pause between two polls of the engine's latest definitions; 0 turns the watch off. */
  preloadIntervalMs: number;
  /** Process keys watched from the start, besides those learned from tasks. */
  preloadProcessKeys: readonly string[];
  /** Sharing of the counts through `cache.redis`; undefined keeps them per replica. */
  shared: { syncIntervalMs: number } | undefined;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface RouterConfig {
  /** Path of the file this was loaded from, when it came from a file. */
  source: string | undefined;
  engine: EngineOptions;
  services: ReadonlyMap<string, ServiceOptions>;
  dispatch: DispatchOptions;
  topics: readonly TopicOptions[];
  cache: CachesOptions;
  /** Limits a definition's XML must meet before and while it is parsed. */
  definitions: ParseLimits;
  telemetry: TelemetryConfig;
  prediction: PredictionOptions;
  logging: { level: LogLevel };
  shutdown: { gracePeriodMs: number };
}
