/**
 * Library entry point: the orchestrator, the daemon, configuration loading
 * and the error classes.
 */
export {
  ServiceOrchestrator,
  type CacheMetrics,
  type CacheName,
  type ConfigSections,
  type MetricsSnapshot,
  type OrchestratorMetrics,
  type OrchestratorOptions,
  type OrchestratorSettings,
  type PredictionStats,
  type RoutedOutcome,
  type RouteTaskOptions,
  type SequenceModelStats,
} from './orchestrator.ts';
export { Daemon, type DaemonOptions, type DaemonState } from './daemon/daemon.ts';
export { compileConfig, loadConfigFile, parseConfig } from './config/load.ts';
export type { RouterConfig } from './config/types.ts';
export type { Task, TaskOutcome, Variables } from './engine/types.ts';
export { TypedVariable, type DeclaredType, type VariableType } from './engine/typed-variable.ts';
export type { ExternalTaskJson } from './engine/camunda7/task.ts';
export type { Route } from './routing/route.ts';
export type { DefinitionModel, Activity } from './definitions/model.ts';
export type { HandlerContext, HandlerResult, HandlerTask, TaskHandler } from './dispatch/handlers.ts';
export { createLogger, type Logger } from './telemetry/logger.ts';
export * from './errors.ts';
