/**
 * The one place the pipeline reports what happened. Each call updates both
 * the in-process figures behind `getMetrics()` and the OpenTelemetry
 * instruments that Prometheus and OTLP read, so the two always agree.
 */
import { createNoopMeter, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';

import { KeyedCache } from './keyed-cache.ts';
import { countsOf, PipelineMetrics, tallyOf, type OutcomeKind, type Tally, type Timing } from './metrics.ts';
import {
  BPMN,
  BREAKER_STATE_VALUES,
  DURATION_BUCKETS_SECONDS,
  METRIC,
  ROUTER,
  SEMCONV,
  type DaemonEventName,
  type Operation,
} from './names.ts';

/** A cache's counters as the recorder reads them. */
export interface CacheFigures {
  hits: number;
  misses: number;
  size: number;
}

/** Figures that live elsewhere and are read when metrics are collected. */
export interface ObservedSources {
  /** Counters per cache, keyed by cache name (`processXml`, `properties`, `docs`). */
  caches(): Record<string, CacheFigures>;
  /** Tasks waiting or running per service. */
  queueDepths(): Record<string, number>;
  /** Breaker state per service. */
  breakerStates(): Record<string, keyof typeof BREAKER_STATE_VALUES>;
}

/** A call's HTTP status, or the kind of error when no response arrived (e.g. `timeout`, `ECONNREFUSED`). */
export type CallResult = { status: number } | { errorType: string };

/** Counters kept by name for `getMetrics()`; see {@link TelemetryRecorder.counter}. */
export type RecorderCounter =
  | DaemonEventName
  | 'lockExtensions'
  | 'lockExtensionFailures'
  | 'processInstancesEnded'
  | 'predictionsTop1'
  | 'predictionsTop3'
  | 'predictionsMissed'
  | 'prefetchesUsed'
  | 'prefetchesUnused'
  | 'tasksReady'
  | 'tasksNotReady';

/** Where a task's activity stood in the prediction made before it; see `ROUTER.predictionResult`. */
export type PredictionResult = 'top1' | 'top3' | 'miss';

export interface TelemetryRecorderOptions {
  /** Bound on remembered process instance ids, for counting distinct instances. @default 100000 */
  maxRememberedInstances?: number;
  /**
   * Whether anything is recorded. Off, every method returns at once: the
   * figures stay at zero and the meter receives no values.
   * @default true
   */
  enabled?: boolean;
}

/** Combinations of attribute values kept at once per instrument; see {@link KeyedCache}. */
const MAX_ATTRIBUTE_SETS = 10_000;

/** The counts of one combination of attribute values: the instrument's attributes and the figures' tallies. */
interface CallCounts {
  attributes: Attributes;
  calls: Tally;
  byResult: Tally;
}

/** The histogram attributes and the timing figures of one operation. */
interface OperationEntry {
  attributes: Attributes;
  timing: Timing;
}

/** Records the pipeline's events; see the module comment. */
export class TelemetryRecorder {
  readonly #figures: PipelineMetrics;
  readonly #apiCallsByResult = new Map<string, Tally>();
  /** Attributes and timing per operation, added at its first duration, so `avgOperationTimes` lists operations in the order first recorded. */
  readonly #operations = new Map<Operation, OperationEntry>();
  readonly #taskCounts = new KeyedCache<{ attributes: Attributes; outcome: Tally }>(MAX_ATTRIBUTE_SETS);
  readonly #serviceCallCounts = new KeyedCache<CallCounts>(MAX_ATTRIBUTE_SETS);
  readonly #engineCallCounts = new KeyedCache<CallCounts>(MAX_ATTRIBUTE_SETS);
  readonly #tasks: Counter;
  readonly #instancesSeen: Counter;
  readonly #instancesEnded: Counter;
  readonly #durations: Histogram;
  readonly #engineCalls: Counter;
  readonly #serviceCalls: Counter;
  readonly #lockExtensions: Counter;
  readonly #daemonEvents: Counter;
  readonly #predictions: Counter;
  readonly #prefetches: Counter;
  readonly #tasksArrived: Counter;
  readonly #meter: Meter;
  readonly #enabled: boolean;
  #observed = false;

  constructor(meter: Meter = createNoopMeter(), options: TelemetryRecorderOptions = {}) {
    this.#meter = meter;
    this.#enabled = options.enabled ?? true;
    this.#figures = new PipelineMetrics(options.maxRememberedInstances);
    this.#tasks = meter.createCounter(METRIC.tasks, { description: 'Tasks finished, by topic, service and outcome', unit: '{task}' });
    this.#instancesSeen = meter.createCounter(METRIC.processInstancesSeen, {
      description: 'Distinct process instances whose tasks this process handled',
      unit: '{instance}',
    });
    this.#instancesEnded = meter.createCounter(METRIC.processInstancesEnded, {
      description: 'Process instances that ended after a task this process completed',
      unit: '{instance}',
    });
    this.#durations = meter.createHistogram(METRIC.operationDuration, {
      description: 'Duration of a pipeline step: fetch, parse, definition, route, dispatch or complete',
      unit: 's',
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
    });
    this.#engineCalls = meter.createCounter(METRIC.engineCalls, { description: 'Calls to the engine, by call and HTTP status', unit: '{call}' });
    this.#serviceCalls = meter.createCounter(METRIC.serviceCalls, {
      description: 'Requests to downstream services, by service, method, path and HTTP status',
      unit: '{request}',
    });
    this.#lockExtensions = meter.createCounter(METRIC.lockExtensions, { description: 'Lock extensions of running tasks, by result', unit: '{extension}' });
    this.#daemonEvents = meter.createCounter(METRIC.daemonEvents, { description: 'Daemon events: late results dropped, tasks unlocked or deferred, fetch pauses, outcome conflicts and abandoned outcome reports', unit: '{event}' });
    this.#predictions = meter.createCounter(METRIC.predictions, { description: 'Scored next-task predictions, by result', unit: '{prediction}' });
    this.#prefetches = meter.createCounter(METRIC.prefetches, { description: 'Prefetched activity routes and definitions, by whether a task used them', unit: '{item}' });
    this.#tasksArrived = meter.createCounter(METRIC.tasksArrived, { description: 'Tasks that reached the orchestrator, by whether their route was ready', unit: '{task}' });
  }

  /**
   * Registers the figures read at collection time: cache counters, queue
   * depths and breaker states. Later calls are rejected, because the
   * instruments' callbacks stay registered for the meter's lifetime.
   */
  observe(sources: ObservedSources): void {
    if (this.#observed) {
      throw new TypeError('TelemetryRecorder.observe() was already called; pass all sources in one call');
    }
    this.#observed = true;
    if (!this.#enabled) {
      return;
    }

    const meter = this.#meter;
    meter.createObservableCounter(METRIC.cacheHits, { description: 'Cache hits since start', unit: '{lookup}' }).addCallback((result) => {
      for (const [cache, figures] of Object.entries(sources.caches())) {
        result.observe(figures.hits, { [ROUTER.cache]: cache });
      }
    });
    meter.createObservableCounter(METRIC.cacheMisses, { description: 'Cache misses since start', unit: '{lookup}' }).addCallback((result) => {
      for (const [cache, figures] of Object.entries(sources.caches())) {
        result.observe(figures.misses, { [ROUTER.cache]: cache });
      }
    });
    meter.createObservableGauge(METRIC.cacheHitRatio, { description: 'Cache hits over lookups since start', unit: '1' }).addCallback((result) => {
      for (const [cache, figures] of Object.entries(sources.caches())) {
        result.observe(hitRate(figures), { [ROUTER.cache]: cache });
      }
    });
    meter.createObservableGauge(METRIC.cacheEntries, { description: 'Entries held in a cache', unit: '{entry}' }).addCallback((result) => {
      for (const [cache, figures] of Object.entries(sources.caches())) {
        result.observe(figures.size, { [ROUTER.cache]: cache });
      }
    });
    meter.createObservableGauge(METRIC.queueDepth, { description: 'Tasks waiting or running per service', unit: '{task}' }).addCallback((result) => {
      for (const [service, depth] of Object.entries(sources.queueDepths())) {
        result.observe(depth, { [ROUTER.service]: service });
      }
    });
    meter.createObservableGauge(METRIC.breakerState, { description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open', unit: '1' }).addCallback((result) => {
      for (const [service, state] of Object.entries(sources.breakerStates())) {
        result.observe(BREAKER_STATE_VALUES[state], { [ROUTER.service]: service });
      }
    });
  }

  /** Counts one finished task by outcome, topic and service, and its process instance the first time it is seen. */
  taskFinished(outcome: OutcomeKind, task: { topic: string; processInstanceId: string }, service: string): void {
    if (!this.#enabled) {
      return;
    }
    const counts = this.#taskCounts.get(task.topic, service, outcome, undefined, this.#buildTaskCounts);
    const seenBefore = this.#figures.processInstancesSeen;
    this.#figures.recordTask(counts.outcome, task.processInstanceId);
    this.#tasks.add(1, counts.attributes);
    if (this.#figures.processInstancesSeen > seenBefore) {
      this.#instancesSeen.add(1);
    }
  }

  /** Counts a process instance that ended after a task this process completed. */
  processInstanceEnded(): void {
    if (!this.#enabled) {
      return;
    }
    this.counter('processInstancesEnded');
    this.#instancesEnded.add(1);
  }

  /** Records how long a pipeline step took, in milliseconds. */
  duration(operation: Operation, milliseconds: number): void {
    if (!this.#enabled) {
      return;
    }
    const { attributes, timing } = this.#operations.get(operation) ?? this.#addOperation(operation);
    this.#figures.recordDuration(timing, milliseconds);
    this.#durations.record(milliseconds / 1000, attributes);
  }

  /** Counts one call to the engine, e.g. `fetchAndLock` or `complete`. */
  engineCall(call: string, result: CallResult): void {
    if (!this.#enabled) {
      return;
    }
    const counts = this.#engineCallCounts.get(call, resultValue(result), undefined, undefined, this.#buildEngineCallCounts);
    counts.calls.count += 1;
    counts.byResult.count += 1;
    this.#engineCalls.add(1, counts.attributes);
  }

  /** Counts one request to a service (a batch request counts once). */
  serviceCall(service: string, request: { method: string; path: string }, result: CallResult): void {
    if (!this.#enabled) {
      return;
    }
    const counts = this.#serviceCallCounts.get(service, request.path, request.method, resultValue(result), this.#buildServiceCallCounts);
    counts.calls.count += 1;
    counts.byResult.count += 1;
    this.#serviceCalls.add(1, counts.attributes);
  }

  /** Counts one lock extension, successful or not. */
  lockExtension(extended: boolean): void {
    if (!this.#enabled) {
      return;
    }
    this.counter(extended ? 'lockExtensions' : 'lockExtensionFailures');
    this.#lockExtensions.add(1, { [ROUTER.lockExtensionResult]: extended ? 'extended' : 'failed' });
  }

  /** Counts one daemon event. */
  event(name: DaemonEventName): void {
    if (!this.#enabled) {
      return;
    }
    this.counter(name);
    this.#daemonEvents.add(1, { [ROUTER.event]: name });
  }

  /** Counts one next-task prediction once the task that followed is known. */
  prediction(result: PredictionResult): void {
    if (!this.#enabled) {
      return;
    }
    this.counter(PREDICTION_COUNTERS[result]);
    this.#predictions.add(1, { [ROUTER.predictionResult]: result });
  }

  /** Counts one prefetched item once a task used it or its window ended. */
  prefetch(used: boolean): void {
    if (!this.#enabled) {
      return;
    }
    this.counter(used ? 'prefetchesUsed' : 'prefetchesUnused');
    this.#prefetches.add(1, { [ROUTER.prefetchResult]: used ? 'used' : 'unused' });
  }

  /** Counts one task reaching the orchestrator, with whether its route was ready. */
  taskArrival(ready: boolean): void {
    if (!this.#enabled) {
      return;
    }
    this.counter(ready ? 'tasksReady' : 'tasksNotReady');
    this.#tasksArrived.add(1, { [ROUTER.readiness]: ready ? 'ready' : 'not_ready' });
  }

  /** Adds one to a counter that only `getMetrics()` reports; the methods above call it for theirs. */
  counter(name: RecorderCounter): void {
    if (!this.#enabled) {
      return;
    }
    this.#figures.count(name);
  }

  /**
   * Returns the figures for `orchestratorMetrics` of `getMetrics()`:
   * durations as averages in seconds, call and task counts, and the named
   * counters (a counter never incremented is 0).
   */
  snapshot() {
    const counters = this.#figures.counters();
    const value = (name: RecorderCounter) => counters[name] ?? 0;
    const predictions = value('predictionsTop1') + value('predictionsTop3') + value('predictionsMissed');
    const prefetches = value('prefetchesUsed') + value('prefetchesUnused');
    const arrivals = value('tasksReady') + value('tasksNotReady');
    return {
      avgOperationTimes: this.#figures.averageSeconds(),
      apiCalls: this.#figures.apiCalls(),
      apiCallsByResult: countsOf(this.#apiCallsByResult),
      tasksProcessed: this.#figures.tasksProcessed,
      tasksByOutcome: this.#figures.outcomeTotals(),
      tasksByOutcomeTopicService: this.#figures.outcomes(),
      workflowsProcessed: this.#figures.processInstancesSeen,
      workflowsEnded: value('processInstancesEnded'),
      lockExtensions: value('lockExtensions'),
      lockExtensionFailures: value('lockExtensionFailures'),
      lateResultsDropped: value('lateResultsDropped'),
      tasksUnlocked: value('tasksUnlocked'),
      tasksDeferred: value('tasksDeferred'),
      fetchPauses: value('fetchPauses'),
      /** Outcome reports the engine rejected with an optimistic-locking conflict, each retried. */
      outcomeConflicts: value('outcomeConflicts'),
      /** Outcome reports given up after their retries; the engine hands those tasks out again when their locks expire. */
      outcomeReportsAbandoned: value('outcomeReportsAbandoned'),
      /** Next-task predictions scored: tasks that followed another task of their process instance. */
      predictions,
      /** Share of scored predictions whose first activity was the one that came; null before the first. */
      predictionAccuracyTop1: predictions === 0 ? null : value('predictionsTop1') / predictions,
      /** Share of scored predictions whose first three activities held the one that came; null before the first. */
      predictionAccuracyTop3: predictions === 0 ? null : (value('predictionsTop1') + value('predictionsTop3')) / predictions,
      /** Share of arrived tasks whose route was ready, so no definition was loaded on their path; null before the first. */
      prefetchHitRate: arrivals === 0 ? null : value('tasksReady') / arrivals,
      prefetchesUsed: value('prefetchesUsed'),
      /** Prefetched items that no task needed within the prefetch window. */
      prefetchesUnused: value('prefetchesUnused'),
      /** Unused over settled prefetches; null before the first settles. */
      unusedPrefetchShare: prefetches === 0 ? null : value('prefetchesUnused') / prefetches,
    };
  }

  #addOperation(operation: Operation): OperationEntry {
    const entry = { attributes: { [ROUTER.operation]: operation }, timing: this.#figures.timing(operation) };
    this.#operations.set(operation, entry);
    return entry;
  }

  // Built once per combination of values; fields, so a cache hit creates no closure.
  readonly #buildTaskCounts = (topic: string, service: string, outcome: OutcomeKind) => ({
    attributes: { [BPMN.topic]: topic, [ROUTER.service]: service, [ROUTER.outcome]: outcome },
    outcome: this.#figures.outcomeTally(outcome, topic, service),
  });

  readonly #buildEngineCallCounts = (call: string, result: number | string): CallCounts =>
    this.#callCounts(`engine:${call}`, result, { [ROUTER.engineCall]: call, ...resultAttributes(result) });

  readonly #buildServiceCallCounts = (service: string, path: string, method: string, result: number | string): CallCounts =>
    this.#callCounts(`service:${service}`, result, {
      [ROUTER.service]: service,
      [SEMCONV.httpRequestMethod]: method,
      [SEMCONV.urlTemplate]: path,
      ...resultAttributes(result),
    });

  /** The counts of one call target and result: `apiCalls[name]` and `apiCallsByResult[name:result]`. */
  #callCounts(name: string, result: number | string, attributes: Attributes): CallCounts {
    return { attributes, calls: this.#figures.apiCallTally(name), byResult: tallyOf(this.#apiCallsByResult, `${name}:${result}`) };
  }
}

const PREDICTION_COUNTERS: Record<PredictionResult, RecorderCounter> = {
  top1: 'predictionsTop1',
  top3: 'predictionsTop3',
  miss: 'predictionsMissed',
};

/** Returns the kind of a request error for metrics: its code (e.g. `ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`) or its name. */
export function errorTypeOf(error: unknown): string {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (typeof code === 'string') {
    return code;
  }
  return typeof name === 'string' ? name : 'Error';
}

/** Returns the status, or the kind of error, of a call. */
function resultValue(result: CallResult): number | string {
  return 'status' in result ? result.status : result.errorType;
}

/** Returns an HTTP status (a number) or the kind of error (a string) as attributes. */
function resultAttributes(result: number | string): Attributes {
  return typeof result === 'number' ? { [SEMCONV.httpResponseStatusCode]: result } : { [SEMCONV.errorType]: result };
}

function hitRate(figures: CacheFigures): number {
  const lookups = figures.hits + figures.misses;
  return lookups === 0 ? 0 : figures.hits / lookups;
}
