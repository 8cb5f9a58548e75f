import { performance } from 'node:perf_hooks';

import { loadConfigFile } from './config/load.ts';
import type { RouterConfig, TopicOptions } from './config/types.ts';
import { ActivityCaches, type ActivityProperties } from './definitions/activity-cache.ts';
import type { AdaptiveCacheStats } from './definitions/adaptive-cache.ts';
import type { DefinitionModel } from './definitions/model.ts';
import { RedisDefinitionStore, type SharedDefinitionStore } from './definitions/redis-store.ts';
import { DefinitionRepository } from './definitions/repository.ts';
import { Dispatcher } from './dispatch/dispatcher.ts';
import { fromExternalTask, isExternalTask, type ExternalTaskJson } from './engine/camunda7/task.ts';
import { createDefinitionSource, type EngineDefinitionSource } from './engine/create.ts';
import { withDeclaredTypes } from './engine/typed-variable.ts';
import type { Task, TaskOutcome, Variables } from './engine/types.ts';
import { BpmnParseError, DefinitionParseError, IllegalStateError, MetricsDisabledError, RouterError } from './errors.ts';
import type { MetricsSnapshot } from './orchestrator-metrics.ts';
import { resolveOrchestratorOptions, type OrchestratorOptions, type OrchestratorSettings } from './orchestrator-options.ts';
import { createPredictionService } from './prediction/orchestrator-target.ts';
import type { PredictionService } from './prediction/service.ts';
import { resolveRoute, type Route } from './routing/route.ts';
import { TopicTable } from './routing/topic-table.ts';
import type { Logger } from './telemetry/logger.ts';
import type { OutcomeKind } from './telemetry/metrics.ts';
import { BPMN, ROUTER, SPAN } from './telemetry/names.ts';
import type { Telemetry } from './telemetry/otel.ts';
import { TelemetryRecorder, type CallResult } from './telemetry/recorder.ts';
import { recordOutcome, TaskTracing } from './telemetry/tracing.ts';

export type { CacheMetrics, MetricsSnapshot, OrchestratorMetrics } from './orchestrator-metrics.ts';
export type { PredictionStats } from './prediction/service.ts';
export type { SequenceModelStats } from './prediction/sequence-model.ts';
export type { ConfigSections, OrchestratorOptions, OrchestratorSettings } from './orchestrator-options.ts';

/** The outcome of routing one task, with whether a failure is worth retrying. */
export type RoutedOutcome = TaskOutcome & {
  /** For failures: false when retrying cannot help (bad route, unreadable definition). */
  retryable?: boolean;
  /** The route taken, when one was resolved. */
  route?: Route;
  /** True when the task's activity leads only to end events, so completing it likely ends the process instance. */
  leadsToEnd?: boolean;
};

/** Options of {@link ServiceOrchestrator.routeTask}. */
export interface RouteTaskOptions {
  /** Called with the route once it is resolved, before dispatch starts. */
  onRoute?: (route: Route) => void;
  /** Epoch milliseconds after which no retry of a transient error starts, e.g. shortly before the task's lock expires. */
  retryDeadline?: number;
}

/** Events of the daemon counted under `orchestratorMetrics`. */
export type DaemonEvent =
  | 'lockExtensions'
  | 'lockExtensionFailures'
  | 'lateResultsDropped'
  | 'tasksUnlocked'
  | 'fetchPauses'
  | 'outcomeConflicts'
  | 'outcomeReportsAbandoned';

/**
 * Names of the caches accepted by {@link ServiceOrchestrator.clearCacheItem}:
 * `xml` contains parsed definitions keyed by definition id, `properties` and
 * `docs` contain one activity's properties or documentation keyed
 * `<definitionId>:<activityId>`.
 */
export type CacheName = 'xml' | 'properties' | 'docs';

const CACHE_NAMES: readonly CacheName[] = ['xml', 'properties', 'docs'];

const NO_DISPATCH_OPTIONS = Object.freeze({});
const LEADS_TO_END = Object.freeze({ leadsToEnd: true as const });

type State = 'open' | 'closing' | 'closed';

/**
 * The library API: resolves a task's route from its definition and the
 * configuration and dispatches it, returning the outcome without touching
 * the engine. The daemon is one user of it; a user's own worker is another.
 *
 * After {@link close} has begun, every method throws or rejects with
 * {@link IllegalStateError}, with three exceptions. `close()` returns its
 * first promise again. The read-only snapshots {@link getMetrics} and
 * {@link queueDepths} keep working. The `record*` hooks stay accepted,
 * because the daemon reports its last tasks after the close.
 *
 * @example
 * ```ts
 * const orchestrator = new ServiceOrchestrator({
 *   engine: { baseUrl: 'http://127.0.0.1:8080/engine-rest' },
 *   services: { inventory: { baseUrl: 'http://127.0.0.1:9000' } },
 *   topics: [{ topic: 'reserve-stock', service: 'inventory', path: '/reserve' }],
 * });
 * const outcome = await orchestrator.routeTask(task, variables);
 * await orchestrator.close();
 * ```
 */
export class ServiceOrchestrator {
  /** The compiled configuration: defaults filled, durations in milliseconds, frozen. */
  readonly config: RouterConfig;
  readonly #logger: Logger;
  /** The engine's definition source, when the orchestrator created it; closed with the orchestrator. */
  readonly #ownSource: EngineDefinitionSource | undefined;
  readonly #definitions: DefinitionRepository;
  readonly #activities: ActivityCaches;
  /** Resolved routes by activity cache entry and topic name. */
  readonly #routesByActivity = new WeakMap<ActivityProperties, Map<TopicOptions, ResolvedRoute>>();
  readonly #redis: SharedDefinitionStore | undefined;
  readonly #purgeTimer: NodeJS.Timeout | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #recorder: TelemetryRecorder;
  readonly #tracing: TaskTracing;
  readonly #topics: TopicTable;
  readonly #metricsEnabled: boolean;
  /** Telemetry the orchestrator built from the configuration and shuts down in {@link close}. */
  readonly #ownTelemetry: Telemetry | undefined;
  readonly #prediction: PredictionService;
  #state: State = 'open';
  #closing: Promise<void> | undefined;

  /**
   * Creates an orchestrator from the configuration's sections (as in the
   * YAML file) or a compiled `config`. It opens no connection yet: the
   * engine is first asked for a definition by the first task or prefetch,
   * and Redis, when configured, connects in the background.
   *
   * @throws {ConfigError} when an option is invalid; its `issues` list every
   * problem with the key path, the value received and what is allowed.
   */
  constructor(options: OrchestratorOptions = {}) {
    const resolved = resolveOrchestratorOptions(options);
    this.config = resolved.config;
    this.#logger = resolved.logger;
    this.#metricsEnabled = resolved.metricsEnabled;
    this.#ownTelemetry = resolved.ownsTelemetry ? resolved.telemetry : undefined;
    this.#ownSource = resolved.definitionSource === undefined ? createDefinitionSource(this.config.engine, this.#logger) : undefined;
    const { cache } = this.config;
    this.#redis = cache.redis === undefined ? undefined : new RedisDefinitionStore(cache.redis, this.#logger);
    this.#definitions = new DefinitionRepository(resolved.definitionSource ?? (this.#ownSource as EngineDefinitionSource), cache.definitions, {
      parseLimits: this.config.definitions,
      shared: this.#redis,
      latestVersionTtlMs: cache.definitions.latestVersionTtlMs,
      reportedEntries: cache.reportedEntries,
      clock: resolved.clock,
      logger: this.#logger,
      onParsed: (milliseconds) => this.#recorder.duration('parse', milliseconds),
    });
    this.#activities = new ActivityCaches(this.#definitions, {
      properties: cache.properties,
      docs: cache.docs,
      reportedEntries: cache.reportedEntries,
      clock: resolved.clock,
    });
    if (cache.purgeIntervalMs > 0) {
      this.#purgeTimer = setInterval(() => this.#purgeExpired(), cache.purgeIntervalMs);
      this.#purgeTimer.unref();
    }

    const { telemetry } = resolved;
    this.#recorder = new TelemetryRecorder(telemetry.meter, { enabled: this.#metricsEnabled });
    this.#tracing = new TaskTracing(telemetry);
    this.#dispatcher = new Dispatcher(this.config, this.#logger, {
      tracing: this.#tracing,
      onRequest: (service, request, result) => this.#recorder.serviceCall(service, request, result),
    });

    this.#recorder.observe({
      caches: () => {
        const { properties, docs } = this.#activities.stats();
        return { processXml: this.#definitions.stats(), properties, docs };
      },
      queueDepths: () => this.#dispatcher.queueDepths(),
      breakerStates: () => Object.fromEntries(Object.entries(this.#dispatcher.stats().breakers).map(([service, breaker]) => [service, breaker.state])),
    });
    this.#topics = new TopicTable(this.config.topics);
    this.#prediction = createPredictionService({
      config: this.config,
      definitions: this.#definitions,
      activities: this.#activities,
      dispatcher: this.#dispatcher,
      recorder: this.#recorder,
      logger: this.#logger,
      redis: this.#redis,
      clock: resolved.clock,
    });
  }

  /**
   * Builds an orchestrator from a YAML configuration file, the same file the
   * daemon reads, with `${VAR}` references taken from the environment.
   *
   * @param file - Path of the YAML file.
   * @param settings - Settings of the orchestrator itself; the file's own
   * `cache.*.ttl` keys are overridden by the seconds settings.
   * @throws {ConfigError} when the file is unreadable or invalid, listing
   * every problem with its line and column.
   */
  static fromConfig(file: string, settings: OrchestratorSettings = {}): ServiceOrchestrator {
    return new ServiceOrchestrator({ ...settings, config: loadConfigFile(file) });
  }

  /** Whether the orchestrator records metrics (the `enableMetrics` setting). */
  get metricsEnabled(): boolean {
    return this.#metricsEnabled;
  }

  /**
   * Routes one task and dispatches it, retrying transient errors. Nothing is
   * reported to the engine: the caller completes the task, raises the BPMN
   * error or reports the failure, e.g. through its own task client.
   *
   * Never rejects for a task's own problems: they come back as a failure
   * outcome with its reason, and `retryable: false` when a retry cannot help
   * (no route, an undeclared service, a definition that cannot be parsed). A
   * `deferred` outcome means the task did not start (its service's breaker
   * is open, or {@link close} began) and should go back to the engine
   * unchanged.
   *
   * @param input - The task: an engine-neutral {@link Task}, or a Camunda 7
   * external task as fetch-and-lock or camunda-external-task-client-js hands
   * it out (recognised by its `topicName`).
   * @param variables - The process variables as plain values; the route's
   * `variables` list selects those sent to the service.
   * @param options - Hooks and a retry deadline, mainly for the daemon.
   * @returns `complete` with the result variables, `bpmnError` with its code,
   * `failure` with its message, or `deferred`.
   * @throws {IllegalStateError} (as a rejection) after {@link close}.
   */
  routeTask(input: Task | ExternalTaskJson, variables: Variables = {}, options: RouteTaskOptions = {}): Promise<RoutedOutcome> {
    let task: Task;
    try {
      this.#assertOpen('routeTask');
      task = isExternalTask(input) ? fromExternalTask(input) : input;
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#tracing.enabled) {
      return this.#routeTask(task, variables, options);
    }
    return this.#tracing.inTask(task, async (span) => {
      const outcome = await this.#routeTask(task, variables, options);
      recordOutcome(span, outcome, outcome.route === undefined ? undefined : serviceOf(outcome.route));
      return outcome;
    });
  }

  async #routeTask(task: Task, variables: Variables, options: RouteTaskOptions): Promise<RoutedOutcome> {
    const predicting = this.config.prediction.enabled;
    if (predicting) {
      this.#prediction.taskArriving(task);
    }
    let resolved: ResolvedRoute;
    try {
      const resolving = this.#resolve(task);
      resolved = resolving instanceof Promise ? await resolving : resolving;
      if (predicting) {
        void this.#prediction.taskRouted(task);
      }
    } catch (error) {
      const outcome = routingFailure(task, error);
      this.#taskLogger(task).warn({ err: error, definitionId: task.processDefinitionId }, 'task not routed');
      this.#recorder.taskFinished('failure', task, '(unrouted)');
      return outcome;
    }

    const { route } = resolved;
    options.onRoute?.(route);
    const outcome = await this.#dispatchRouted(task, variables, route, options, resolved.leadsToEnd);
    if (this.#logger.isLevelEnabled('debug')) {
      this.#taskLogger(task).debug({ service: serviceOf(route), outcome: outcome.kind }, 'task dispatched');
    }
    return outcome;
  }

  /**
   * Routes and dispatches several tasks at once; `variablesList[i]` belongs
   * to `tasks[i]`. The tasks are grouped by service: those of a service with
   * a batch endpoint go out in batch requests of up to `batch.maxSize`, the
   * others one request each. Like {@link routeTask} it reports nothing to
   * the engine and never rejects for a task's own problems.
   *
   * @param tasks - Tasks as {@link routeTask} accepts them.
   * @param variablesList - One set of variables per task, in the same order;
   * an empty list sends every task with no variables.
   * @returns One outcome per task, in input order.
   * @throws {TypeError} (as a rejection) when `variablesList` is neither empty
   * nor as long as `tasks`.
   * @throws {IllegalStateError} (as a rejection) after {@link close}.
   */
  async routeBatchTasks(
    tasks: readonly (Task | ExternalTaskJson)[],
    variablesList: readonly Variables[] = [],
    options: Omit<RouteTaskOptions, 'onRoute'> = {},
  ): Promise<RoutedOutcome[]> {
    this.#assertOpen('routeBatchTasks');
    if (variablesList.length !== 0 && variablesList.length !== tasks.length) {
      throw new TypeError(`routeBatchTasks() received ${variablesList.length} variable sets for ${tasks.length} tasks; pass one per task, in the same order, or none`);
    }
    const normalized = tasks.map((input) => (isExternalTask(input) ? fromExternalTask(input) : input));
    const predicting = this.config.prediction.enabled;

    // Routes resolve first, so every task reaches its batcher in the same turn and shares its batches.
    // NOTE: these tasks get no task span of their own (steps outside a span start none): a batch mixes the traces of many instances.
    const routes = await Promise.all(normalized.map(async (task) => {
      try {
        if (predicting) {
          this.#prediction.taskArriving(task);
        }
        const route = await this.resolveRoute(task);
        if (predicting) {
          void this.#prediction.taskRouted(task);
        }
        return { route };
      } catch (error) {
        return { error };
      }
    }));
    const outcomes = normalized.map((task, index) => {
      const resolved = routes[index] as { route?: Route; error?: unknown };
      if (resolved.route === undefined) {
        this.#logger.warn({ err: resolved.error, taskId: task.id, topic: task.topic, definitionId: task.processDefinitionId }, 'task not routed');
        this.#recorder.taskFinished('failure', task, '(unrouted)');
        return Promise.resolve(routingFailure(task, resolved.error));
      }
      return this.#dispatchRouted(task, variablesList[index] ?? {}, resolved.route, options);
    });
    // Every task has reached its batcher by now, so no batch needs to wait for more.
    this.#dispatcher.flushBatches();
    return Promise.all(outcomes);
  }

  /** Dispatches a routed task and records its outcome; `leadsToEnd` marks the outcome of a task whose activity ends its process instance. */
  async #dispatchRouted(task: Task, variables: Variables, route: Route, options: RouteTaskOptions, leadsToEnd = false): Promise<RoutedOutcome> {
    const started = performance.now();
    const outcome = await this.#dispatcher.dispatch(task, variables, route, options.retryDeadline === undefined ? NO_DISPATCH_OPTIONS : { retryDeadline: options.retryDeadline });
    const ending = leadsToEnd ? LEADS_TO_END : undefined;
    if (outcome.kind === 'deferred') {
      this.#recorder.event('tasksDeferred');
      return { ...outcome, route, ...ending };
    }
    this.#recorder.duration('dispatch', performance.now() - started);
    this.#recorder.taskFinished(outcome.kind as OutcomeKind, task, serviceOf(route));
    if (outcome.kind === 'complete' || outcome.kind === 'bpmnError') {
      return { ...outcome, variables: withDeclaredTypes(outcome.variables, route.variableTypes), route, ...ending };
    }
    return { ...outcome, retryable: outcome.kind === 'failure' ? true : undefined, route, ...ending };
  }

  /**
   * Resolves a task's route from its definition's activity properties and
   * the topic's defaults, without dispatching it.
   *
   * @throws {RouterError} (as a rejection) when the topic is not configured,
   * the definition cannot be read, or no route results; {@link IllegalStateError}
   * after {@link close}.
   */
  async resolveRoute(task: Task): Promise<Route> {
    this.#assertOpen('resolveRoute');
    return (await this.#resolve(task)).route;
  }

  /** Resolves a task's route; without tracing, a task whose activity is cached gets it at once, not as a promise. */
  #resolve(task: Task): ResolvedRoute | Promise<ResolvedRoute> {
    const topic = this.#topics.entryFor(task);
    const activity = task.activityProperties === undefined ? this.#lookUpActivity(task) : fetchedActivity(task, task.activityProperties);
    if (activity instanceof Promise) {
      return activity.then((loaded) => this.#timedRoute(topic, loaded));
    }
    return this.#timedRoute(topic, activity);
  }

  #timedRoute(topic: TopicOptions, activity: ActivityProperties): ResolvedRoute | Promise<ResolvedRoute> {
    const routeStarted = performance.now();
    if (this.#tracing.enabled) {
      return this.#tracing.inSpan(SPAN.route, {}, async (span) => {
        const resolved = this.#resolvedRoute(topic, activity);
        span.setAttribute(ROUTER.routeKind, resolved.route.kind);
        span.setAttribute(ROUTER.service, serviceOf(resolved.route));
        this.#recorder.duration('route', performance.now() - routeStarted);
        return resolved;
      });
    }
    const resolved = this.#resolvedRoute(topic, activity);
    this.#recorder.duration('route', performance.now() - routeStarted);
    return resolved;
  }

  /**
   * Resolves the route of a topic and an activity's cached properties. The
   * configuration is fixed and a cache entry never changes, so the route is
   * kept beside the entry and lives as long as it does.
   */
  #resolvedRoute(topic: TopicOptions, activity: ActivityProperties): ResolvedRoute {
    let byTopic = this.#routesByActivity.get(activity);
    const cached = byTopic?.get(topic);
    if (cached !== undefined) {
      return cached;
    }
    const route = resolveRoute(this.config, topic, activity.found ? { id: activity.activityId, properties: activity.properties, headers: activity.headers, inputVariables: activity.inputVariables } : undefined);
    const resolved: ResolvedRoute = Object.freeze({ route, leadsToEnd: activity.leadsToEnd });
    if (byTopic === undefined) {
      byTopic = new Map();
      this.#routesByActivity.set(activity, byTopic);
    }
    byTopic.set(topic, resolved);
    return resolved;
  }

  /** Reads the activity's properties from the definition, through the caches; a cache hit without tracing returns at once. */
  #lookUpActivity(task: Task): ActivityProperties | Promise<ActivityProperties> {
    const started = performance.now();
    if (this.#tracing.enabled) {
      return this.#tracedLookUp(task, started);
    }
    const cached = this.#activities.cachedProperties(task.processDefinitionId, task.activityId);
    if (cached !== undefined) {
      this.#recorder.duration('definition', performance.now() - started);
      return cached;
    }
    return this.#activities.loadProperties(task.processDefinitionId, task.activityId).then((activity) => {
      this.#recorder.duration('definition', performance.now() - started);
      return activity;
    });
  }

  async #tracedLookUp(task: Task, started: number): Promise<ActivityProperties> {
    const lookup = { [BPMN.processDefinitionId]: task.processDefinitionId, [BPMN.activityId]: task.activityId };
    const activity = await this.#tracing.inSpan(SPAN.definitionLookup, { attributes: lookup }, () => this.#activities.activityProperties(task.processDefinitionId, task.activityId));
    this.#recorder.duration('definition', performance.now() - started);
    return activity;
  }

  /**
   * Returns the parsed definition, from the cache or the engine.
   *
   * @throws {BpmnParseError} (as a rejection) when the XML is rejected;
   * {@link EngineRequestError} when the engine cannot be reached;
   * {@link IllegalStateError} after {@link close}.
   */
  async definition(definitionId: string): Promise<DefinitionModel> {
    this.#assertOpen('definition');
    return this.#definitions.get(definitionId);
  }

  /**
   * Returns the latest version of a process key, of `tenantId` or of no
   * tenant. The key's definition id is remembered per tenant for
   * `cache.definitions.latestVersionTtl` (reads do not extend it), so a
   * newly deployed version is used within that time.
   *
   * @throws as {@link definition} does.
   */
  async latestDefinition(processKey: string, tenantId?: string): Promise<DefinitionModel> {
    this.#assertOpen('latestDefinition');
    return this.#definitions.latest(processKey, tenantId);
  }

  /**
   * Returns an activity's documentation through the documentation cache;
   * undefined when it has none.
   *
   * @throws as {@link definition} does.
   */
  async activityDocumentation(definitionId: string, activityId: string): Promise<string | undefined> {
    this.#assertOpen('activityDocumentation');
    return this.#activities.documentation(definitionId, activityId);
  }

  /**
   * Loads a definition into the cache ahead of its first task, e.g.
   * `'Process_A:1:123'`. A definition that cannot be loaded is logged at
   * warn level, and the promise resolves false instead of rejecting.
   *
   * @returns true when the definition is cached, false when it could not be
   * loaded or parsed.
   * @throws {IllegalStateError} (as a rejection) after {@link close}.
   */
  async prefetchProcessXml(definitionId: string): Promise<boolean> {
    this.#assertOpen('prefetchProcessXml');
    if (this.#definitions.has(definitionId)) {
      // A caller's read of a cached definition counts as a cache hit, as a task's does; prediction's own reads do not.
      await this.#definitions.get(definitionId);
      return true;
    }
    return this.#prediction.prefetchDefinition(definitionId);
  }

  /**
   * Prepares the activities that an instance of the definition likely
   * visits, by the counts of this or the previous version and by the graph:
   * their properties are cached, their routes resolved and their services'
   * connection pools opened. Only activities whose topic is configured
   * count, and only those an instance visits with at least
   * `prediction.minProbability`. A definition that cannot be loaded is
   * logged at warn level, and the promise resolves 0 instead of rejecting.
   *
   * @param definitionId - The definition version, e.g. `'Process_A:1:123'`.
   * @param processKey - The BPMN process id, which picks the process in a
   * file with several; without it the file's one executable process is taken.
   * @returns How many of the likely activities are prepared afterwards.
   * @throws {IllegalStateError} (as a rejection) after {@link close}.
   */
  async prefetchCommonActivities(definitionId: string, processKey?: string): Promise<number> {
    this.#assertOpen('prefetchCommonActivities');
    return this.#prediction.prefetchCommonActivities(definitionId, processKey);
  }

  /**
   * Records a call the daemon made to the engine, for `getMetrics()` and
   * the exported metrics: `fetchAndLock` times the `fetch` step, the calls
   * that report an outcome time the `complete` step. A worker that reports
   * outcomes through its own client may call it too. Accepted after
   * {@link close}.
   *
   * @param name - The call, e.g. `fetchAndLock`, `complete`, `bpmnError`, `failure`.
   * @param milliseconds - How long the call took.
   * @param result - Its HTTP status, or the kind of error when no response arrived.
   */
  recordEngineCall(name: string, milliseconds: number, result: CallResult): void {
    this.#recorder.engineCall(name, result);
    if (name === 'fetchAndLock') {
      this.#recorder.duration('fetch', milliseconds);
    } else if (name === 'complete' || name === 'bpmnError' || name === 'failure') {
      this.#recorder.duration('complete', milliseconds);
    }
  }

  /** Counts one daemon event under `orchestratorMetrics` of `getMetrics()` and in the exported metrics. Accepted after {@link close}. */
  recordDaemonEvent(event: DaemonEvent): void {
    if (event === 'lockExtensions' || event === 'lockExtensionFailures') {
      this.#recorder.lockExtension(event === 'lockExtensions');
      return;
    }
    this.#recorder.event(event);
  }

  /**
   * Counts the end of a process instance when the engine accepted the
   * completion of a task that leads only to end events. Accepted after
   * {@link close}.
   */
  recordCompletion(outcome: RoutedOutcome): void {
    if (outcome.kind === 'complete' && outcome.leadsToEnd === true) {
      this.#recorder.processInstanceEnded();
    }
  }

  /** The dispatcher, whose capacity and breakers the daemon's fetch loops read. Not meant for other callers. */
  get dispatcher(): Dispatcher {
    return this.#dispatcher;
  }

  /** Returns the tasks waiting or running per service, and under `(handlers)` for in-process handlers. */
  queueDepths(): Record<string, number> {
    return this.#dispatcher.queueDepths();
  }

  /**
   * Returns a snapshot of the caches' counters and the pipeline's counters
   * and timings since the orchestrator was created, e.g.
   * `cacheMetrics.processXml.hits` and `orchestratorMetrics.cacheHitRates`.
   * {@link MetricsSnapshot} describes every field. Still readable after
   * {@link close}: the counters keep their final values, while the caches
   * are empty by then.
   *
   * @throws {MetricsDisabledError} when the orchestrator was created with
   * `enableMetrics: false`.
   */
  getMetrics(): MetricsSnapshot {
    if (!this.#metricsEnabled) {
      throw new MetricsDisabledError();
    }
    const xml = this.#definitions.stats();
    const { properties, docs } = this.#activities.stats();
    return {
      cacheMetrics: {
        processXml: xml,
        properties,
        docs,
      },
      orchestratorMetrics: {
        cacheHitRates: { processXml: hitRate(xml), properties: hitRate(properties), docs: hitRate(docs) },
        queueDepths: this.#dispatcher.queueDepths(),
        ...this.#recorder.snapshot(),
        ...this.#dispatchMetrics(),
      },
      predictionMetrics: this.#prediction.stats(),
    };
  }

  /**
   * Removes one entry from an in-memory cache. The Redis tier keeps its
   * entry, which stays valid because a definition id's XML never changes.
   *
   * @param cache - `xml`, `properties` or `docs` (see {@link CacheName}).
   * @param key - A definition id for `xml`, `<definitionId>:<activityId>` for
   * `properties` and `docs`.
   * @returns Whether the entry was there.
   * @throws {TypeError} for another cache name; {@link IllegalStateError} after {@link close}.
   */
  clearCacheItem(cache: CacheName, key: string): boolean {
    this.#assertOpen('clearCacheItem');
    switch (cache) {
      case 'xml':
        return this.#definitions.delete(key);
      case 'properties':
        return this.#activities.properties.delete(key);
      case 'docs':
        return this.#activities.docs.delete(key);
      default:
        throw new TypeError(`unknown cache ${JSON.stringify(cache)}: use one of ${CACHE_NAMES.map((name) => `"${name}"`).join(', ')}`);
    }
  }

  /**
   * Removes expired entries from every in-memory cache now, as the sweep
   * every `cache.purgeInterval` does.
   *
   * @returns How many entries each cache removed, as `{ xml, properties, docs }`.
   * @throws {IllegalStateError} after {@link close}.
   */
  clearExpiredCacheEntries(): Record<CacheName, number> {
    this.#assertOpen('clearExpiredCacheEntries');
    return this.#purgeExpired();
  }

  #purgeExpired(): Record<CacheName, number> {
    return {
      xml: this.#definitions.purgeExpired(),
      properties: this.#activities.properties.purgeExpired(),
      docs: this.#activities.docs.purgeExpired(),
    };
  }

  /**
   * The dispatch counters: `breakers` per service (state, consecutive
   * failures, openings, outage start), in-daemon `retries`, and batch
   * requests and the tasks they carried. The daemon's events (lock
   * extensions and their failures, late results dropped, tasks unlocked,
   * deferred tasks, fetch pauses for lack of capacity) come from the
   * recorder's snapshot.
   */
  #dispatchMetrics() {
    const stats = this.#dispatcher.stats();
    return {
      breakers: stats.breakers,
      retries: stats.retries,
      batchRequests: stats.batchRequests,
      batchedTasks: stats.batchedTasks,
    };
  }

  /**
   * Waits until every task handed to {@link routeTask} or
   * {@link routeBatchTasks} has its outcome.
   *
   * @throws {IllegalStateError} (as a rejection) after {@link close}.
   */
  async onIdle(): Promise<void> {
    this.#assertOpen('onIdle');
    await this.#dispatcher.onIdle();
  }

  /**
   * Stops dispatch and releases everything the orchestrator holds: the
   * connection pools of the engine and the services, the cache sweep's
   * timer, the Redis connection, the caches' entries, and the telemetry it
   * built itself. Tasks not yet started (waiting in a queue, for a batch, or
   * between retries) resolve `deferred` at once. Requests and handlers in
   * flight finish first. With `force` they are aborted instead, and their
   * tasks end as failures.
   *
   * Safe to call twice: the second call returns the first call's promise,
   * and a second call with `force` aborts what still runs. From the first
   * call on, other methods throw or reject with {@link IllegalStateError}
   * (see the class description for the exceptions).
   *
   * @param options - `force: true` aborts requests and handlers in flight.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force === true && this.#closing !== undefined) {
      void this.#dispatcher.close({ force: true });
    }
    this.#closing ??= this.#close(options);
    return this.#closing;
  }

  async #close(options: { force?: boolean }): Promise<void> {
    this.#state = 'closing';
    clearInterval(this.#purgeTimer);
    await this.#dispatcher.close(options);
    await this.#prediction.close();
    await this.#ownSource?.close();
    await this.#redis?.close();
    await this.#ownTelemetry?.shutdown();
    this.#definitions.clear();
    this.#activities.clear();
    this.#state = 'closed';
  }

  /** A child logger with the task's ids; created only when a line is logged, since a child costs CPU per task. */
  #taskLogger(task: Task): Logger {
    return this.#logger.child({ taskId: task.id, topic: task.topic, activityId: task.activityId, processInstanceId: task.processInstanceId });
  }

  #assertOpen(method: string): void {
    if (this.#state !== 'open') {
      throw new IllegalStateError(`ServiceOrchestrator.${method}() was called after close(); create a new ServiceOrchestrator to route more tasks`);
    }
  }
}

/** A route and whether its activity leads only to end events. */
interface ResolvedRoute {
  route: Route;
  leadsToEnd: boolean;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_INPUTS: readonly string[] = Object.freeze([]);

/**
 * Describes the activity from the properties the engine sent with the task.
 * Whether it leads to an end event is not known without the definition, so
 * completions of such tasks are not counted as ended process instances.
 */
function fetchedActivity(task: Task, properties: Readonly<Record<string, string>>): ActivityProperties {
  return { activityId: task.activityId, found: true, properties, headers: NO_HEADERS, inputVariables: NO_INPUTS, leadsToEnd: false };
}

/** The service a route goes to, `(handler)` for an in-process handler. */
function serviceOf(route: Route): string {
  return route.kind === 'http' ? route.service : '(handler)';
}

function hitRate(stats: AdaptiveCacheStats): number {
  const lookups = stats.hits + stats.misses;
  return lookups === 0 ? 0 : stats.hits / lookups;
}

function routingFailure(task: Task, error: unknown): RoutedOutcome {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof BpmnParseError) {
    return {
      kind: 'failure',
      message: error instanceof DefinitionParseError ? message : `definition ${task.processDefinitionId} rejected: ${message}`,
      details: error.stack,
      retryable: false,
    };
  }
  const retryable = !(error instanceof RouterError) || error.code === 'ERR_ENGINE_REQUEST';
  return { kind: 'failure', message, details: error instanceof Error ? error.stack : undefined, retryable };
}
