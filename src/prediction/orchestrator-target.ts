/**
 * Builds the prediction service of a `ServiceOrchestrator` over its own
 * parts: the activity caches decide whether a route is ready, and preparing
 * an activity fills them and opens its service's connection pool.
 */
import type { RouterConfig } from '../config/types.ts';
import { activityKey, type ActivityCaches } from '../definitions/activity-cache.ts';
import type { Clock } from '../definitions/adaptive-cache.ts';
import type { Activity } from '../definitions/model.ts';
import { RedisDefinitionStore, type SharedDefinitionStore } from '../definitions/redis-store.ts';
import type { DefinitionRepository } from '../definitions/repository.ts';
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import { resolveRoute } from '../routing/route.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { TelemetryRecorder } from '../telemetry/recorder.ts';
import { PredictionService, type PreparationTarget } from './service.ts';
import { SharedTransitionCounts } from './shared-counts.ts';

/** The orchestrator's parts that prediction uses. */
export interface OrchestratorParts {
  config: RouterConfig;
  definitions: DefinitionRepository;
  activities: ActivityCaches;
  dispatcher: Dispatcher;
  recorder: TelemetryRecorder;
  logger: Logger;
  /** The Redis tier, which carries the shared counts when `prediction.shared` is set. */
  redis: SharedDefinitionStore | undefined;
  clock: Clock | undefined;
}

/** Creates the orchestrator's prediction service and starts its timers. */
export function createPredictionService(parts: OrchestratorParts): PredictionService {
  const { config } = parts;
  const shared = config.prediction.shared !== undefined && config.cache.redis !== undefined && parts.redis instanceof RedisDefinitionStore
    ? new SharedTransitionCounts(parts.redis, { keyPrefix: config.cache.redis.keyPrefix, ttlMs: config.cache.redis.ttlMs })
    : undefined;
  const service = new PredictionService({
    options: config.prediction,
    target: preparationTarget(parts),
    isObserved: servedActivities(config),
    recorder: parts.recorder,
    logger: parts.logger,
    clock: parts.clock,
    shared,
  });
  service.startTimers();
  return service;
}

/** Returns the test of whether an activity's tasks reach the daemon: its topic (or job type) is configured. */
export function servedActivities(config: RouterConfig): (activity: Activity) => boolean {
  const topics = new Set(config.topics.map((topic) => topic.topic));
  return (activity) => {
    const topic = activity.topic ?? activity.jobType;
    return topic !== undefined && topics.has(topic);
  };
}

function preparationTarget(parts: OrchestratorParts): PreparationTarget {
  const { config, definitions, activities, dispatcher } = parts;
  const topics = new Map(config.topics.map((topic) => [topic.topic, topic]));
  return {
    isActivityPrepared: (definitionId, activityId) => activities.properties.has(activityKey(definitionId, activityId)),
    isDefinitionLoaded: (definitionId) => definitions.has(definitionId),
    loadDefinition: async (definitionId) => definitions.peek(definitionId) ?? definitions.get(definitionId),
    latestDefinitionId: (processKey) => definitions.latestId(processKey),
    async prepareActivity(definitionId, activityId) {
      // A properties miss reads the definition once, as routing would; the model is then only peeked at.
      await activities.activityProperties(definitionId, activityId);
      const model = definitions.peek(definitionId) ?? await definitions.get(definitionId);
      const activity = model.activities.get(activityId);
      const topic = topics.get(activity?.topic ?? activity?.jobType ?? '');
      if (activity === undefined || topic === undefined) {
        return;
      }
      const route = resolveRoute(config, topic, activity);
      if (route.kind === 'http') {
        dispatcher.warm(route.service);
      }
    },
  };
}
