/**
 * The library on its own: route tasks that your code has fetched and locked,
 * then report their outcomes to the engine yourself. The orchestrator
 * resolves each task's route from its BPMN definition and the configuration,
 * calls the service and returns the outcome. It never completes, fails or
 * unlocks a task in the engine.
 *
 * test/examples/library-usage.test.ts runs this file against the bundled
 * Operaton engine. In your own project, import from 'bpmn-task-router'.
 */
import {
  ServiceOrchestrator,
  type CacheName,
  type ExternalTaskJson,
  type MetricsSnapshot,
  type RoutedOutcome,
  type Task,
  type Variables,
} from '../../src/index.ts';

/** Inputs of the example: the engine, the service, and tasks already locked. */
export interface LibraryUsageSetup {
  /** REST base URL of a Camunda 7 or Operaton engine, e.g. `http://127.0.0.1:8080/engine-rest`. */
  engineUrl: string;
  /** Base URL of the inventory service, which handles `POST /reserve`. */
  inventoryUrl: string;
  /** Topic of the reserve-stock tasks. */
  topic: string;
  /** One locked task and its variables. */
  task: Task | ExternalTaskJson;
  variables: Variables;
  /** More locked tasks, with one set of variables each. */
  tasks: (Task | ExternalTaskJson)[];
  variablesList: Variables[];
  /** A definition id to load ahead of its tasks, e.g. `Process_A:1:123`. */
  definitionId: string;
}

export interface LibraryUsageResult {
  result: RoutedOutcome;
  results: RoutedOutcome[];
  prefetched: boolean;
  metrics: MetricsSnapshot;
  expired: Record<CacheName, number>;
}

/** Creates an orchestrator, routes the tasks, reads the metrics and closes it. */
export async function runLibraryUsage(setup: LibraryUsageSetup, print: (...values: unknown[]) => void = console.log): Promise<LibraryUsageResult> {
  const { engineUrl, inventoryUrl, topic, task, variables, tasks, variablesList, definitionId } = setup;

  const orchestrator = new ServiceOrchestrator({
    debug: true,
    enableMetrics: true,
    xmlCacheTtl: 3600,
    propsCacheTtl: 1800,
    docsCacheTtl: 3600,
    engine: { baseUrl: engineUrl },
    services: { inventory: { baseUrl: inventoryUrl, timeout: '5s' } },
    topics: [{ topic, service: 'inventory', path: '/reserve', variables: ['orderId', 'sku'], errors: { 409: 'OUT_OF_STOCK' } }],
  });

  try {
    const result = await orchestrator.routeTask(task, variables);
    const results = await orchestrator.routeBatchTasks(tasks, variablesList);
    const prefetched = await orchestrator.prefetchProcessXml(definitionId);

    const metrics = orchestrator.getMetrics();
    print(metrics.cacheMetrics.processXml.hits, metrics.cacheMetrics.processXml.misses);

    const expired = await orchestrator.clearExpiredCacheEntries();
    return { result, results, prefetched, metrics, expired };
  } finally {
    await orchestrator.close();
  }
}
