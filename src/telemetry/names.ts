/**
 * Telemetry names: span names, attribute keys and metric names, in one
 * place so dashboards, alerts and code agree.
 *
 * Where an OpenTelemetry semantic convention covers a fact, its key is used
 * (`http.request.method`, `server.address`, `service.name`, ...), taken from
 * the stable entry point of `@opentelemetry/semantic-conventions`. The
 * daemon's own names use two prefixes:
 *
 * - `bpmn.` for facts of the BPMN engine that any tool reading the same task
 *   would report alike: task id, topic, activity, process instance,
 *   definition, business key, BPMN error code;
 * - `bpmn_router.` for this daemon's own concepts: routes, services, caches,
 *   pipeline operations, outcomes, breakers, lock extensions.
 *
 * In Prometheus the metric names have underscores in place of dots, and
 * counters get a `_total` suffix (`bpmn_router.tasks` becomes
 * `bpmn_router_tasks_total`).
 */
import {
  ATTR_CODE_FILE_PATH,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';

/** Name of the tracer and the meter: the instrumentation scope in exported data. */
export const INSTRUMENTATION_SCOPE = 'bpmn-task-router';

/** Default `service.name` of the resource, unless `telemetry.serviceName` sets another. */
export const DEFAULT_SERVICE_NAME = 'bpmn-task-router';

/** Span names. Each is constant, so span names stay few and searchable. */
export const SPAN = {
  /** One task, from delivery to the daemon until its outcome is reported. Root span of the task. */
  task: 'bpmn_router.task',
  /** Reading the activity's properties from the cached definition, loading the XML on a miss. */
  definitionLookup: 'bpmn_router.definition.lookup',
  /** Resolving the route from the activity properties and the topic's defaults. */
  route: 'bpmn_router.route',
  /** Running an in-process handler module. */
  handler: 'bpmn_router.handler',
  /** The engine call that closes the task: complete, BPMN error, failure or unlock. */
  engineReport: 'bpmn_router.engine.report',
} as const;

/**
 * Name of an HTTP client span to a service, as the HTTP semantic
 * conventions name client spans: the method and the route's path template,
 * such as `POST /reserve`.
 */
export function httpClientSpanName(method: string, pathTemplate: string): string {
  return `${method} ${pathTemplate}`;
}

/** Attribute keys from the OpenTelemetry semantic conventions. */
export const SEMCONV = {
  httpRequestMethod: ATTR_HTTP_REQUEST_METHOD,
  httpResponseStatusCode: ATTR_HTTP_RESPONSE_STATUS_CODE,
  serverAddress: ATTR_SERVER_ADDRESS,
  serverPort: ATTR_SERVER_PORT,
  urlFull: ATTR_URL_FULL,
  /** The path template of a request, e.g. `/reserve`. Experimental in the conventions, so spelt out here. */
  urlTemplate: 'url.template',
  errorType: ATTR_ERROR_TYPE,
  /** The handler module's path on a handler span. */
  codeFilePath: ATTR_CODE_FILE_PATH,
  serviceName: ATTR_SERVICE_NAME,
  serviceVersion: ATTR_SERVICE_VERSION,
  serviceInstanceId: ATTR_SERVICE_INSTANCE_ID,
} as const;

/** Attribute keys of engine facts, prefixed `bpmn.`. */
export const BPMN = {
  taskId: 'bpmn.task.id',
  topic: 'bpmn.topic',
  activityId: 'bpmn.activity.id',
  processInstanceId: 'bpmn.process_instance.id',
  processDefinitionId: 'bpmn.process_definition.id',
  processDefinitionKey: 'bpmn.process_definition.key',
  businessKey: 'bpmn.business_key',
  /** Retries the engine reported with the task; absent before its first failure. */
  taskRetries: 'bpmn.task.retries',
  errorCode: 'bpmn.error.code',
} as const;

/** Attribute keys of the daemon's own concepts, prefixed `bpmn_router.`. */
export const ROUTER = {
  /** The service a task was routed to: a name under `services:`, `(handler)` or `(unrouted)`. */
  service: 'bpmn_router.service',
  /** `http` or `handler`. */
  routeKind: 'bpmn_router.route.kind',
  /** The task's outcome: `complete`, `bpmnError`, `failure` or `deferred`. */
  outcome: 'bpmn_router.outcome',
  /** Whether a failure is worth retrying. */
  retryable: 'bpmn_router.failure.retryable',
  /** A cache: `processXml`, `properties` or `docs`. */
  cache: 'bpmn_router.cache',
  /** Whether a lookup was served from a cache: `hit` or `miss`. */
  cacheResult: 'bpmn_router.cache.result',
  /** A timed pipeline step, see {@link OPERATIONS}. */
  operation: 'bpmn_router.operation',
  /** An engine call, e.g. `fetchAndLock`, `complete`, `extendLock`. */
  engineCall: 'bpmn_router.engine.call',
  /** Result of a lock extension: `extended` or `failed`. */
  lockExtensionResult: 'bpmn_router.lock_extension.result',
  /** A daemon event, see {@link DAEMON_EVENTS}. */
  event: 'bpmn_router.event',
  /** Attempts made for a request, the first included. */
  attempt: 'bpmn_router.attempt',
  /**
   * Where a task's activity stood in the prediction made after the previous
   * task of its process instance: `top1` (first), `top3` (second or third)
   * or `miss`.
   */
  predictionResult: 'bpmn_router.prediction.result',
  /** Result of a prefetched item (an activity's route or a definition): `used` or `unused`. */
  prefetchResult: 'bpmn_router.prefetch.result',
  /** Whether a task's route was ready when it arrived, so no definition was loaded on its path: `ready` or `not_ready`. */
  readiness: 'bpmn_router.readiness',
} as const;

/**
 * Timed steps of the pipeline, the values of `bpmn_router.operation`.
 * `fetch` is one fetch-and-lock request, including the long-polling wait.
 * `parse` is one parse of definition XML, `definition` one activity lookup
 * (cache hit or load), and `route` resolving the route. `dispatch` is the
 * service call or handler with its in-daemon retries, and `complete` the
 * engine call that reports the outcome.
 */
export const OPERATIONS = ['fetch', 'parse', 'definition', 'route', 'dispatch', 'complete'] as const;

export type Operation = (typeof OPERATIONS)[number];

/** Daemon events counted by `bpmn_router.daemon.events`, the values of `bpmn_router.event`. */
export const DAEMON_EVENTS = ['lateResultsDropped', 'tasksUnlocked', 'tasksDeferred', 'fetchPauses', 'outcomeConflicts', 'outcomeReportsAbandoned'] as const;

export type DaemonEventName = (typeof DAEMON_EVENTS)[number];

/** Values of the `bpmn_router.breaker.state` gauge. */
export const BREAKER_STATE_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Metric names. Units follow the OpenTelemetry conventions: seconds for durations, `{thing}` for counts. */
export const METRIC = {
  /** Counter of finished tasks by `bpmn.topic`, `bpmn_router.service` and `bpmn_router.outcome`. */
  tasks: 'bpmn_router.tasks',
  /** Counter of distinct process instances whose tasks this process handled (since its start). */
  processInstancesSeen: 'bpmn_router.process_instances.seen',
  /** Counter of process instances that ended after a task this process completed. */
  processInstancesEnded: 'bpmn_router.process_instances.ended',
  /** Histogram of pipeline step durations in seconds, by `bpmn_router.operation`. */
  operationDuration: 'bpmn_router.operation.duration',
  /** Cumulative cache hits by `bpmn_router.cache`. */
  cacheHits: 'bpmn_router.cache.hits',
  /** Cumulative cache misses by `bpmn_router.cache`. */
  cacheMisses: 'bpmn_router.cache.misses',
  /** Hits over lookups since start, by `bpmn_router.cache`; 0 before the first lookup. */
  cacheHitRatio: 'bpmn_router.cache.hit_ratio',
  /** Entries held now, by `bpmn_router.cache`. */
  cacheEntries: 'bpmn_router.cache.entries',
  /** Counter of engine calls by `bpmn_router.engine.call` and `http.response.status_code` (or `error.type`). */
  engineCalls: 'bpmn_router.engine.calls',
  /** Counter of service requests by `bpmn_router.service`, `http.request.method`, `url.template` and status (or `error.type`). */
  serviceCalls: 'bpmn_router.service.calls',
  /** Tasks waiting or running per `bpmn_router.service` (handlers under `(handlers)`). */
  queueDepth: 'bpmn_router.queue.depth',
  /** Breaker state per `bpmn_router.service`: 0 closed, 1 half-open, 2 open. */
  breakerState: 'bpmn_router.breaker.state',
  /** Counter of lock extensions by `bpmn_router.lock_extension.result`. */
  lockExtensions: 'bpmn_router.lock.extensions',
  /** Counter of daemon events by `bpmn_router.event`. */
  daemonEvents: 'bpmn_router.daemon.events',
  /** Counter of scored next-task predictions by `bpmn_router.prediction.result`. */
  predictions: 'bpmn_router.predictions',
  /** Counter of prefetched items (activity routes and definitions) by `bpmn_router.prefetch.result`, once each is used or its window ends. */
  prefetches: 'bpmn_router.prefetches',
  /** Counter of tasks that reached the orchestrator, by `bpmn_router.readiness`. */
  tasksArrived: 'bpmn_router.tasks.arrived',
} as const;

/**
 * Bucket bounds of the duration histogram in seconds: from half a
 * millisecond for cache hits up to a minute for long-polling fetches.
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Field names that carry the active span's ids on log lines. */
export const LOG_FIELDS = { traceId: 'trace_id', spanId: 'span_id', traceFlags: 'trace_flags' } as const;
