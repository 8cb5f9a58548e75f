/**
 * routeTask inside your own camunda-external-task-client-js worker. The
 * client fetches and locks the tasks and reports each outcome to the
 * engine; the orchestrator only routes a task to its service and returns
 * the outcome of the service's response.
 *
 * test/examples/external-task-client.test.ts runs this file against the
 * bundled Operaton engine. In your own project, import from
 * 'bpmn-task-router'; camunda-external-task-client-js ships no types, so
 * bench/types/camunda-external-task-client-js.d.ts declares the parts used here.
 */
import { Client, Variables, type Task as ClientTask, type TaskService } from 'camunda-external-task-client-js';

import { ServiceOrchestrator, type RoutedOutcome } from '../../src/index.ts';

/** Retries set after a task's first failure, so it gets three attempts in all. */
const RETRIES_AFTER_FIRST_FAILURE = 2;
/** Pause before the engine hands a failed task out again. */
const RETRY_TIMEOUT_MS = 1_000;

export interface InventoryWorkerSetup {
  /** REST base URL of a Camunda 7 or Operaton engine, e.g. `http://127.0.0.1:8080/engine-rest`. */
  engineUrl: string;
  /** Base URL of the inventory service, which handles `POST /reserve`. */
  inventoryUrl: string;
  /** Topic of the reserve-stock tasks. */
  topic: string;
}

export interface InventoryWorker {
  /** Stops fetching, waits until the tasks in hand are reported, then closes the orchestrator. */
  stop(): Promise<void>;
}

/** Starts a client that hands each task of the topic to the orchestrator and reports its outcome. */
export function startInventoryWorker(setup: InventoryWorkerSetup): InventoryWorker {
  const orchestrator = new ServiceOrchestrator({
    engine: { baseUrl: setup.engineUrl },
    services: { inventory: { baseUrl: setup.inventoryUrl, timeout: '5s' } },
    topics: [{ topic: setup.topic, service: 'inventory', path: '/reserve', variables: ['orderId', 'sku'], errors: { 409: 'OUT_OF_STOCK' } }],
  });
  const client = new Client({
    baseUrl: setup.engineUrl,
    workerId: 'inventory-worker',
    lockDuration: 30_000,
    asyncResponseTimeout: 1_000,
    autoPoll: false,
  });

  // The client has no "idle" event, so the worker tracks the fetch and the handlers still running.
  const running = new Set<Promise<void>>();
  let fetching = false;
  let onFetchEnd = (): void => {};
  client.on('poll:start', () => {
    fetching = true;
  });
  for (const event of ['poll:success', 'poll:error']) {
    client.on(event, () => {
      fetching = false;
      onFetchEnd();
    });
  }

  client.subscribe(setup.topic, async ({ task, taskService }) => {
    const handled = routeAndReport(orchestrator, task, taskService);
    running.add(handled);
    try {
      await handled;
    } finally {
      running.delete(handled);
    }
  });
  client.start();

  return {
    async stop() {
      client.stop();
      if (fetching) {
        // The client starts the handlers of the fetched tasks right after this event.
        await new Promise<void>((resolve) => {
          onFetchEnd = resolve;
        });
      }
      await Promise.allSettled([...running]);
      await orchestrator.close();
    },
  };
}

/** Routes one task and reports its outcome through the client. */
async function routeAndReport(orchestrator: ServiceOrchestrator, task: ClientTask, taskService: TaskService): Promise<void> {
  const outcome: RoutedOutcome = await orchestrator.routeTask(task, task.variables.getAll());

  switch (outcome.kind) {
    case 'complete':
      await taskService.complete(task, new Variables().setAll(outcome.variables));
      return;
    case 'bpmnError':
      await taskService.handleBpmnError(task, outcome.errorCode, outcome.message, new Variables().setAll(outcome.variables));
      return;
    case 'failure':
      await taskService.handleFailure(task, {
        errorMessage: outcome.message,
        errorDetails: outcome.details,
        // A failure that no retry can fix (no route, an undeclared service) raises an incident at once.
        retries: outcome.retryable === false ? 0 : retriesLeft(task),
        retryTimeout: RETRY_TIMEOUT_MS,
      });
      return;
    case 'deferred':
      // Not started (the service's breaker is open): give the task back unchanged.
      await taskService.unlock(task);
      return;
  }
}

/** Retries after this failure: the engine reports none until a first failure set them. */
function retriesLeft(task: ClientTask): number {
  return task.retries === null || task.retries === undefined ? RETRIES_AFTER_FIRST_FAILURE : Math.max(task.retries - 1, 0);
}
