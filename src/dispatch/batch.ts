import type { BatchOptions, ServiceOptions } from '../config/types.ts';
import type { Task, TaskOutcome, Variables } from '../engine/types.ts';
import { stringifyJson } from '../lossless-json.ts';
import type { HttpRoute } from '../routing/route.ts';
import {
  idempotencyKey,
  interpretResponse,
  isObject,
  parseJson,
  requestFailure,
  requestHeaders,
  selectVariables,
  taskMetadata,
} from './http-dispatch.ts';
import { TRANSIENT_STATUSES } from './retry.ts';
import type { ServicePools } from './service-pools.ts';

/** One task waiting for its batch. */
export interface BatchItem {
  task: Task;
  route: HttpRoute;
  variables: Variables;
  resolve(outcome: TaskOutcome): void;
}

/** Queues a batch request on the service's queue; `cancel` runs instead of `run` when dispatch stops first. */
export type EnqueueBatch = (priority: number, run: () => Promise<void>, cancel: (reason: string) => void) => void;

/**
 * Groups the tasks of one service with a batch endpoint: a batch goes out
 * when it contains `maxSize` tasks, or `maxWait` after its first task arrived.
 * Each batch is one job on the service's queue, ordered by the highest task
 * priority in it.
 */
export class Batcher {
  readonly #service: ServiceOptions;
  readonly #batch: BatchOptions;
  readonly #pools: ServicePools;
  readonly #enqueue: EnqueueBatch;
  readonly #onSent: (size: number) => void;
  #pending: BatchItem[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(service: ServiceOptions, batch: BatchOptions, pools: ServicePools, enqueue: EnqueueBatch, onSent: (size: number) => void) {
    this.#service = service;
    this.#batch = batch;
    this.#pools = pools;
    this.#enqueue = enqueue;
    this.#onSent = onSent;
  }

  /** Adds a task to the next batch; resolves with the outcome of its item. */
  add(task: Task, route: HttpRoute, variables: Variables): Promise<TaskOutcome> {
    return new Promise((resolve) => {
      this.#pending.push({ task, route, variables, resolve });
      if (this.#pending.length >= this.#batch.maxSize) {
        this.flush();
      } else if (this.#timer === undefined) {
        this.#timer = setTimeout(() => this.flush(), this.#batch.maxWaitMs);
      }
    });
  }

  /** Resolves every task still waiting for its batch as deferred. */
  cancelPending(reason: string): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = this.#pending;
    this.#pending = [];
    for (const item of pending) {
      item.resolve({ kind: 'deferred', reason });
    }
  }

  /** Sends the waiting tasks now, in batches of at most `maxSize`. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0) {
      const items = this.#pending.splice(0, this.#batch.maxSize);
      const priority = Math.max(...items.map((item) => item.task.priority));
      this.#enqueue(
        priority,
        async () => {
          this.#onSent(items.length);
          await sendBatch(this.#pools, this.#service, this.#batch, items);
        },
        (reason) => {
          for (const item of items) {
            item.resolve({ kind: 'deferred', reason });
          }
        },
      );
    }
  }
}

/** Builds the JSON body of a batch request, in the format that docs/configuration.md documents. */
export function batchRequestBody(items: readonly Pick<BatchItem, 'task' | 'route' | 'variables'>[]): string {
  return stringifyJson({
    items: items.map(({ task, route, variables }) => ({
      id: task.id,
      idempotencyKey: idempotencyKey(task),
      method: route.method,
      path: route.path,
      variables: selectVariables(variables, route.variables),
      task: taskMetadata(task),
    })),
  });
}

/**
 * Sends one batch request and resolves each item with the outcome of its
 * result. A failed request fails every item with the same message.
 */
async function sendBatch(pools: ServicePools, service: ServiceOptions, batch: BatchOptions, items: readonly BatchItem[]): Promise<void> {
  const what = `POST ${service.name}${batch.path} (batch of ${items.length})`;
  let status: number;
  let text: string;
  try {
    const response = await pools.request(service.name, {
      method: 'POST',
      path: batch.path,
      headers: requestHeaders(service, undefined, true),
      body: batchRequestBody(items),
    });
    status = response.status;
    text = response.body;
  } catch (error) {
    const outcome = requestFailure(what, service, error);
    for (const item of items) {
      item.resolve(outcome);
    }
    return;
  }

  const byId = results(status, text);
  for (const item of items) {
    item.resolve(itemOutcome(service, what, item, status, text, byId));
  }
}

/** Results of a 2xx batch response by task id; undefined when the response is not a batch response. */
function results(status: number, text: string): Map<string, { status: number; body: unknown }> | undefined {
  if (status < 200 || status >= 300) {
    return undefined;
  }
  const parsed = parseJson(text);
  if (!parsed.ok || !isObject(parsed.value) || !Array.isArray(parsed.value.results)) {
    return undefined;
  }
  const byId = new Map<string, { status: number; body: unknown }>();
  for (const result of parsed.value.results) {
    if (isObject(result) && typeof result.id === 'string' && Number.isInteger(result.status)) {
      byId.set(result.id, { status: result.status as number, body: result.body });
    }
  }
  return byId;
}

function itemOutcome(
  service: ServiceOptions,
  what: string,
  item: BatchItem,
  status: number,
  text: string,
  byId: Map<string, { status: number; body: unknown }> | undefined,
): TaskOutcome {
  if (status < 200 || status >= 300) {
    return {
      kind: 'failure',
      message: `${what} returned HTTP ${status}`,
      details: text.length > 0 ? text.slice(0, 4_000) : undefined,
      transient: TRANSIENT_STATUSES.has(status),
    };
  }
  if (byId === undefined) {
    return {
      kind: 'failure',
      message: `${what} returned HTTP ${status} without a "results" array; a batch endpoint must respond with { "results": [{ "id", "status", "body" }] }`,
      details: text.slice(0, 4_000),
    };
  }

  const result = byId.get(item.task.id);
  if (result === undefined) {
    return {
      kind: 'failure',
      message: `${what} returned no result for task ${item.task.id}; the response must carry one result per item, matched by "id"`,
      details: undefined,
    };
  }
  const body = result.body === undefined ? '' : stringifyJson(result.body);
  const parsed = result.body === undefined ? { ok: false as const } : { ok: true as const, value: result.body };
  return interpretResponse(service, item.route, result.status, parsed, body);
}
