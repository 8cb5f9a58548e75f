/**
 * The orchestrators that the suite compares on the real engine. Each one
 * subscribes to its own topics, calls the downstream service for every task
 * and completes the task with the service's variables; each counts its
 * completions, so the suite can wait for a given number.
 *
 * - ours: the Daemon (fetch loops, cached routes from the definition's
 *   activity properties, dispatcher, undici pools);
 * - naive: one sequential loop that opens a new connection for every call,
 *   fetches and parses the definition XML with xml2js for every task, and
 *   handles one task at a time;
 * - bare client: a camunda-external-task-client-js worker whose handler makes
 *   the same HTTP call with undici's `request`;
 * - raw loop: fetchAndLock and complete with an undici Pool and nothing else,
 *   no service call, as the ceiling the engine allows.
 */
import { request as httpRequest } from 'node:http';

import { Client, Variables as ClientVariables, type Handler } from 'camunda-external-task-client-js';
import { Pool, request } from 'undici';
import xml2js from 'xml2js';

import { parseConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { Camunda7Adapter } from '../../src/engine/camunda7/adapter.ts';
import type { Task, Variables } from '../../src/engine/types.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

/** Tasks a worker locks per fetch, the same for every orchestrator that fetches more than one. */
export const MAX_TASKS = 50;
/** Long-polling wait of every fetch, in milliseconds; short, so a worker stops quickly. */
const LONG_POLL_MS = 1_000;
const LOCK_MS = 60_000;
/** Tasks the naive orchestrator locks per fetch; it handles them one after another. */
const NAIVE_MAX_TASKS = 10;

/** Counts completed tasks and resolves waiters when a count is reached. */
export class CompletionCounter {
  count = 0;
  #waiters: { target: number; resolve: () => void }[] = [];

  add(tasks = 1): void {
    this.count += tasks;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.count >= waiter.target) {
        waiter.resolve();
        return false;
      }
      return true;
    });
  }

  /** Resolves once `target` tasks have completed in total; rejects after `timeoutMs`. */
  waitFor(target: number, timeoutMs: number, label: string): Promise<void> {
    if (this.count >= target) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label}: ${this.count} of ${target} tasks completed after ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({ target, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }
}

export interface Worker {
  readonly counter: CompletionCounter;
  start(): void;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  engineUrl: string;
  /** Origin of the downstream service, `http://127.0.0.1:PORT`. */
  serviceOrigin: string;
  topics: readonly string[];
}

export type OrchestratorName = 'ours' | 'naive' | 'bareClient';

export function createWorker(name: OrchestratorName, options: WorkerOptions): Worker {
  switch (name) {
    case 'ours':
      return new DaemonWorker(options);
    case 'naive':
      return new NaiveWorker(options);
    case 'bareClient':
      return new BareClientWorker(options);
  }
}

/** Returns the service path of an activity. The BPMN names it in a `path` property; the bare client derives it from the activity id. */
export function servicePath(activityId: string): string {
  return `/steps/${activityId}`;
}

// ---------------------------------------------------------------------------

/** The daemon's Camunda 7 adapter, counting completions. */
class CountingAdapter extends Camunda7Adapter {
  readonly counter: CompletionCounter;

  constructor(...[engine, options, counter]: [...ConstructorParameters<typeof Camunda7Adapter>, CompletionCounter]) {
    super(engine, options);
    this.counter = counter;
  }

  override async complete(task: Task, variables: Variables): Promise<void> {
    await super.complete(task, variables);
    this.counter.add();
  }
}

class DaemonWorker implements Worker {
  readonly counter = new CompletionCounter();
  readonly #daemon: Daemon;
  readonly #adapter: CountingAdapter;

  constructor(options: WorkerOptions) {
    const topics = options.topics.map((topic) => `  - { topic: ${topic}, service: downstream }`).join('\n');
    const config = parseConfig(`
engine:
  baseUrl: '${options.engineUrl}'
  workerId: bench-ours
  maxTasks: ${MAX_TASKS}
  asyncResponseTimeout: ${LONG_POLL_MS}
  lockDuration: ${LOCK_MS}
services:
  downstream: { baseUrl: '${options.serviceOrigin}', maxConcurrent: ${MAX_TASKS} }
topics:
${topics}
logging: { level: silent }
`, { env: {} });
    // One fetch loop for the one service, plus the daemon's own allowance for reports.
    this.#adapter = new CountingAdapter(config.engine, { connections: 1 + 32 }, this.counter);
    this.#daemon = new Daemon({ config, logger: createLogger({ level: process.env.BENCH_DAEMON_LOG === 'warn' ? 'warn' : 'silent' }), engine: this.#adapter });
  }

  start(): void {
    this.#daemon.start();
  }

  async stop(): Promise<void> {
    await this.#daemon.stop();
    await this.#adapter.close();
  }
}

// ---------------------------------------------------------------------------

interface ExternalTaskJson {
  id: string;
  activityId: string;
  processDefinitionId: string;
  variables: Record<string, { value: unknown }>;
}

/** Sends one HTTP/1.1 request on a new connection (no agent), as a naive client does, and parses the JSON response. */
function naiveCall(method: string, url: string, body?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const outgoing = httpRequest(url, { method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((response.statusCode ?? 0) >= 300) {
          reject(new Error(`${method} ${url} returned ${response.statusCode}: ${text}`));
          return;
        }
        resolve(text === '' ? undefined : JSON.parse(text));
      });
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

type XmlNode = { $?: Record<string, string> } & Record<string, unknown>;

/** Finds the element with id `activityId` anywhere in an xml2js tree. */
function findElement(node: unknown, activityId: string): XmlNode | undefined {
  if (Array.isArray(node)) {
    for (const child of node) {
      const found = findElement(child, activityId);
      if (found !== undefined) {
        return found;
      }
    }
    return undefined;
  }
  if (node === null || typeof node !== 'object') {
    return undefined;
  }
  const element = node as XmlNode;
  if (element.$?.id === activityId) {
    return element;
  }
  for (const [key, value] of Object.entries(element)) {
    if (key !== '$') {
      const found = findElement(value, activityId);
      if (found !== undefined) {
        return found;
      }
    }
  }
  return undefined;
}

/** Reads the `camunda:property` named `name` of an xml2js element. */
function propertyOf(element: XmlNode, name: string): string | undefined {
  const extensions = (element['bpmn:extensionElements'] as XmlNode[] | undefined)?.[0];
  const properties = (extensions?.['camunda:properties'] as XmlNode[] | undefined)?.[0];
  const entries = (properties?.['camunda:property'] as XmlNode[] | undefined) ?? [];
  return entries.find((entry) => entry.$?.name === name)?.$?.value;
}

class NaiveWorker implements Worker {
  readonly counter = new CompletionCounter();
  readonly #options: WorkerOptions;
  #running = false;
  #loop: Promise<void> = Promise.resolve();

  constructor(options: WorkerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { engineUrl, serviceOrigin, topics } = this.#options;
    while (this.#running) {
      const tasks = await naiveCall('POST', `${engineUrl}/external-task/fetchAndLock`, {
        workerId: 'bench-naive',
        maxTasks: NAIVE_MAX_TASKS,
        asyncResponseTimeout: LONG_POLL_MS,
        topics: topics.map((topicName) => ({ topicName, lockDuration: LOCK_MS })),
      }) as ExternalTaskJson[];
      for (const task of tasks) {
        const { bpmn20Xml } = await naiveCall('GET', `${engineUrl}/process-definition/${encodeURIComponent(task.processDefinitionId)}/xml`) as { bpmn20Xml: string };
        const tree: unknown = await xml2js.parseStringPromise(bpmn20Xml);
        const element = findElement(tree, task.activityId);
        const path = element === undefined ? undefined : propertyOf(element, 'path');
        if (path === undefined) {
          throw new Error(`naive orchestrator: activity ${task.activityId} of ${task.processDefinitionId} has no path property`);
        }
        const variables = Object.fromEntries(Object.entries(task.variables).map(([name, typed]) => [name, typed.value]));
        const result = await naiveCall('POST', `${serviceOrigin}${path}`, { variables }) as { variables: Record<string, unknown> };
        const completion = Object.fromEntries(Object.entries(result.variables).map(([name, value]) => [name, { value }]));
        await naiveCall('POST', `${engineUrl}/external-task/${task.id}/complete`, { workerId: 'bench-naive', variables: completion });
        this.counter.add();
      }
    }
  }
}

// ---------------------------------------------------------------------------

class BareClientWorker implements Worker {
  readonly counter = new CompletionCounter();
  readonly #options: WorkerOptions;
  readonly #client: Client;

  constructor(options: WorkerOptions) {
    this.#options = options;
    // interval 0: the client waits `interval` ms after every fetch (300 by default), which would only slow it down here.
    this.#client = new Client({
      baseUrl: options.engineUrl,
      workerId: 'bench-client-js',
      maxTasks: MAX_TASKS,
      asyncResponseTimeout: LONG_POLL_MS,
      lockDuration: LOCK_MS,
      interval: 0,
      autoPoll: false,
    });
  }

  start(): void {
    for (const topic of this.#options.topics) {
      const handler: Handler = async ({ task, taskService }) => {
        const response = await request(`${this.#options.serviceOrigin}${servicePath(task.activityId)}`, {
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'application/json' },
          body: JSON.stringify({ variables: task.variables.getAll() }),
        });
        const result = await response.body.json() as { variables: Record<string, unknown> };
        await taskService.complete(task, new ClientVariables().setAll(result.variables));
        this.counter.add();
      };
      this.#client.subscribe(topic, handler);
    }
    this.#client.start();
  }

  stop(): Promise<void> {
    this.#client.stop();
    // The client has no way to wait for its outstanding long poll; it returns within the long-polling wait.
    return new Promise((resolve) => setTimeout(resolve, LONG_POLL_MS + 100));
  }
}

// ---------------------------------------------------------------------------

/** Fetches and locks up to MAX_TASKS tasks and completes them all at once, until `count` tasks are done. */
export async function rawLoop(engineUrl: string, topic: string, count: number, counter: CompletionCounter): Promise<void> {
  const url = new URL(engineUrl);
  const pool = new Pool(url.origin, { connections: MAX_TASKS + 1, keepAliveTimeout: 30_000 });
  const basePath = url.pathname.replace(/\/+$/, '');
  const headers = { accept: 'application/json', 'content-type': 'application/json' };
  try {
    while (counter.count < count) {
      const response = await pool.request({
        method: 'POST',
        path: `${basePath}/external-task/fetchAndLock`,
        headers,
        body: JSON.stringify({ workerId: 'bench-raw', maxTasks: MAX_TASKS, asyncResponseTimeout: LONG_POLL_MS, topics: [{ topicName: topic, lockDuration: LOCK_MS }] }),
      });
      const tasks = await response.body.json() as { id: string }[];
      await Promise.all(tasks.map(async (task) => {
        const completed = await pool.request({
          method: 'POST',
          path: `${basePath}/external-task/${task.id}/complete`,
          headers,
          body: JSON.stringify({ workerId: 'bench-raw', variables: { done: { value: true } } }),
        });
        await completed.body.dump();
        if (completed.statusCode !== 204) {
          throw new Error(`raw loop: complete of task ${task.id} returned ${completed.statusCode}`);
        }
        counter.add();
      }));
    }
  } finally {
    await pool.close();
  }
}
