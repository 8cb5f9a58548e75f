/**
 * The shape of {@link ServiceOrchestrator.getMetrics}: the caches' own
 * counters, and the pipeline's counters and timings since the
 * orchestrator was created.
 */
import type { AdaptiveCacheStats } from './definitions/adaptive-cache.ts';
import type { DefinitionCacheStats } from './definitions/repository.ts';
import type { BreakerSnapshot } from './dispatch/breaker.ts';
import type { ServiceOrchestrator } from './orchestrator.ts';
import type { PredictionStats } from './prediction/service.ts';
import type { OutcomeKind } from './telemetry/metrics.ts';
import type { Operation } from './telemetry/names.ts';

/** A snapshot returned by {@link ServiceOrchestrator.getMetrics}. */
export interface MetricsSnapshot {
  cacheMetrics: CacheMetrics;
  orchestratorMetrics: OrchestratorMetrics;
  /** The next-task prediction model, its tracked instances and prefetches, and the definitions it loaded. */
  predictionMetrics: PredictionStats;
}

/** Counters of the three in-memory caches. */
export interface CacheMetrics {
  /**
   * Parsed definitions by definition id: `hits` and `misses` of lookups,
   * `fetches` and `failures` of loads from the engine, and under `shared`
   * the Redis tier's counters.
   */
  processXml: DefinitionCacheStats;
  /** Activity properties by `<definitionId>:<activityId>`; routing reads this cache for every task. */
  properties: AdaptiveCacheStats;
  /** Activity documentation by `<definitionId>:<activityId>`. */
  docs: AdaptiveCacheStats;
}

/** The pipeline's counters and timings. */
export interface OrchestratorMetrics {
  /** Hits over lookups per cache, from 0 to 1; 0 before the first lookup. */
  cacheHitRates: Record<keyof CacheMetrics, number>;
  /**
   * Average duration per pipeline step in seconds: `definition` (property
   * lookup), `parse`, `route` and `dispatch`, plus the daemon's `fetch` and
   * `complete`. A step not measured yet is absent.
   */
  avgOperationTimes: Partial<Record<Operation, number>>;
  /** Calls by target: `service:<name>` per downstream service (a batch request counts once) and `engine:<call>` per engine call the daemon reported. */
  apiCalls: Record<string, number>;
  /** The same calls by result: `service:<name>:<status or error code>`, e.g. `service:inventory:200` or `service:inventory:ECONNREFUSED`. */
  apiCallsByResult: Record<string, number>;
  /** Tasks with an outcome (complete, BPMN error or failure); deferred tasks are not counted. */
  tasksProcessed: number;
  /** `tasksProcessed` by outcome. */
  tasksByOutcome: Record<OutcomeKind, number>;
  /** `tasksProcessed` keyed `<outcome>/<topic>/<service>`, with `(handler)` for in-process handlers and `(unrouted)` for tasks without a route. */
  tasksByOutcomeTopicService: Record<string, number>;
  /**
   * Distinct process instances whose tasks were processed. The last 100000
   * ids are remembered, so an instance seen again after that counts twice.
   */
  workflowsProcessed: number;
  /** Process instances that ended after the daemon completed their last task. */
  workflowsEnded: number;
  /** Lock extensions of running tasks by the daemon. */
  lockExtensions: number;
  lockExtensionFailures: number;
  /** Outcomes the daemon dropped because the task's lock had been lost. */
  lateResultsDropped: number;
  /** Tasks the daemon gave back to the engine at shutdown. */
  tasksUnlocked: number;
  /** Tasks not started because their service's breaker was open or `close()` had begun. */
  tasksDeferred: number;
  /** Times a fetch loop of the daemon started waiting because its services had no free capacity. */
  fetchPauses: number;
  /** Outcome reports the engine rejected with an optimistic-locking conflict, each retried. */
  outcomeConflicts: number;
  /** Outcome reports given up after their retries; the engine hands those tasks out again when their locks expire. */
  outcomeReportsAbandoned: number;
  /** Next-task predictions scored: tasks that followed another task of their process instance. */
  predictions: number;
  /** Share of scored predictions whose first activity was the one that came; null before the first. */
  predictionAccuracyTop1: number | null;
  /** Share of scored predictions whose first three activities held the one that came; null before the first. */
  predictionAccuracyTop3: number | null;
  /** Share of arrived tasks whose route was ready, so no definition was loaded on their path; null before the first task. */
  prefetchHitRate: number | null;
  /** Prepared activities and loaded definitions that a task used within `prediction.prefetchWindow`. */
  prefetchesUsed: number;
  /** Prepared activities and loaded definitions that no task used within `prediction.prefetchWindow`. */
  prefetchesUnused: number;
  /** Unused over settled prefetches; null before the first settles. */
  unusedPrefetchShare: number | null;
  /** Tasks waiting or running per service, and `(handlers)` for in-process handlers. */
  queueDepths: Record<string, number>;
  /** Circuit breaker per service. */
  breakers: Record<string, BreakerSnapshot>;
  /** Attempts repeated after a transient error. */
  retries: number;
  /** Batch requests sent. */
  batchRequests: number;
  /** Tasks carried by batch requests. */
  batchedTasks: number;
}
