/**
 * The chaos run: the bundled Operaton engine on an H2 file database, the
 * Redis on 127.0.0.1:6379 as the shared definition cache, a downstream
 * service that fails 10% of its calls with HTTP 500 or 503 and delays 5%
 * beyond the lock duration, and the daemon as a child process
 * (`src/cli/main.ts start`) that is killed with SIGKILL at random intervals
 * and started again. The engine is restarted once while tasks are in
 * flight. Afterwards the engine's history is checked: every instance ended,
 * every external task the engine created completed after a 2xx answer of the
 * service, every repeat delivery is explained by a lost lock, and no
 * incident appeared.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';
import { request } from 'undici';

import { countProcessInstances, deployBpmn, startProcessInstance } from '../../src/demo/engine-rest.ts';
import { startOperaton, type OperatonProcess } from '../../src/demo/operaton.ts';
import { seededRandom } from '../support/process-simulator.ts';
import { startChaosService, type ChaosService } from './service.ts';
import {
  checkTasks,
  classifyDeliveries,
  countEnded,
  type DaemonGeneration,
  type ExternalTaskLogEntry,
  type HistoricProcessInstance,
  type Outage,
} from './verify.ts';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = join(repositoryRoot, 'src/cli/main.ts');
const REDIS_URL = 'redis://127.0.0.1:6379/0';
const START_CONCURRENCY = 8;
const HISTORY_PAGE = 2_000;

export interface ChaosOptions {
  /** Process instances started; each runs two external tasks. @default 2000 */
  instances?: number;
  /** Seed of the fault and kill schedule. @default a random one */
  seed?: number;
  /** Lock duration of the daemon's tasks, in ms. @default 5000 */
  lockDurationMs?: number;
  /** Bounds of the random pause between two daemon kills, in ms. @default [3000, 10000] */
  killIntervalMs?: readonly [number, number];
  /** Folder of the engine database and the logs. @default .tmp/chaos/<time>-<random> */
  workDir?: string;
  /** How long the instances may take to end after the last one started, in ms. @default 120000 + 300 per instance */
  deadlineMs?: number;
  /** Receives progress lines. @default none */
  progress?: (line: string) => void;
}

/** The figures of a chaos run; the first five keys are its verdict. */
export interface ChaosResult {
  instancesStarted: number;
  instancesEnded: number;
  tasksLost: number;
  duplicatesWithoutLockExpiry: number;
  unexpectedIncidents: number;
  instancesCompleted: number;
  tasksCreated: number;
  duplicatesWithNewKey: number;
  redeliveriesAfterLockExpiry: number;
  inDaemonRetries: number;
  serviceRequests: number;
  injectedHttp500: number;
  injectedHttp503: number;
  injectedDelays: number;
  daemonKills: number;
  engineRestarts: number;
  engineDowntimeMs: number;
  durationMs: number;
  seed: number;
  lockDurationMs: number;
  examples: { duplicates: string[]; lostTasks: string[] };
  workDir: string;
}

/** Whether a result shows nothing lost, no duplicate without a lost lock and no incident. */
export function chaosPassed(result: ChaosResult): boolean {
  return result.instancesEnded === result.instancesStarted
    && result.tasksLost === 0
    && result.duplicatesWithoutLockExpiry === 0
    && result.duplicatesWithNewKey === 0
    && result.unexpectedIncidents === 0;
}

/** Runs the chaos scenario and returns its figures; stops everything it started, also on failure. */
export async function runChaos(options: ChaosOptions = {}): Promise<ChaosResult> {
  const instances = options.instances ?? 2_000;
  const seed = options.seed ?? randomBytes(4).readUInt32LE();
  const lockDurationMs = options.lockDurationMs ?? 5_000;
  const [killMin, killMax] = options.killIntervalMs ?? [3_000, 10_000];
  const workDir = resolve(options.workDir ?? join(repositoryRoot, '.tmp/chaos', `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`));
  const deadlineMs = options.deadlineMs ?? 120_000 + 300 * instances;
  const progress = options.progress ?? (() => undefined);
  const random = seededRandom(seed ^ 0x5eed);
  const between = (min: number, max: number) => Math.round(min + random() * (max - min));
  mkdirSync(workDir, { recursive: true });

  const began = Date.now();
  const keyPrefix = `bpmn-task-router-chaos:${randomBytes(4).toString('hex')}:`;
  const processKey = `Chaos_${randomBytes(4).toString('hex')}`;
  let engine: OperatonProcess | undefined;
  let service: ChaosService | undefined;
  const supervisor = new DaemonSupervisor(join(workDir, 'daemon.log'));
  let killing = true;
  let killLoop: Promise<void> = Promise.resolve();

  try {
    progress(`starting the engine (database and logs in ${workDir})`);
    engine = await startOperaton({ database: { file: join(workDir, 'engine') }, logFile: join(workDir, 'engine.log') });
    const url = engine.restUrl;
    await deployBpmn(url, [{ name: 'chaos.bpmn', xml: chaosProcess(processKey) }]);
    service = await startChaosService({ delayMs: lockDurationMs + 1_500, seed });

    const configFile = join(workDir, 'config.yaml');
    writeFileSync(configFile, chaosConfig(url, service.url, lockDurationMs, keyPrefix));
    supervisor.spawn(configFile);

    killLoop = (async () => {
      while (killing) {
        await sleep(between(killMin, killMax));
        if (!killing) {
          break;
        }
        await supervisor.kill();
        await sleep(between(200, 1_500));
        if (killing) {
          supervisor.spawn(configFile);
        }
      }
    })();

    progress(`starting ${instances} instances of ${processKey}`);
    const started = await startInstances(url, processKey, instances);
    progress(`${started} instances started; ${supervisor.kills} daemon kills so far`);

    const engineUp = engine;
    const outages: Outage[] = [];
    await waitUntil(async () => (await countProcessInstances(url, processKey)).finished >= Math.ceil(started / 4), deadlineMs);
    const from = Date.now();
    progress('restarting the engine');
    await engineUp.restart();
    outages.push({ from, to: Date.now() });
    progress(`engine back after ${Date.now() - from} ms`);

    const ended = await waitUntil(async () => {
      const counts = await countProcessInstances(url, processKey);
      progress(`${counts.finished}/${started} instances ended, ${counts.running} running, ${supervisor.kills} daemon kills`);
      return counts.finished >= started;
    }, deadlineMs, 2_000);
    if (!ended) {
      progress(`deadline of ${deadlineMs} ms passed before every instance ended`);
    }

    killing = false;
    await killLoop;
    await supervisor.stop();

    const history = await readHistory(url, processKey);
    const deliveries = service.deliveries;
    writeFileSync(join(workDir, 'deliveries.json'), JSON.stringify({ deliveries, generations: supervisor.generations, outages }));
    const findings = classifyDeliveries(deliveries, supervisor.generations, outages);
    const tasks = checkTasks(history.taskLog, deliveries);
    const counts = countEnded(history.instances);

    return {
      instancesStarted: started,
      instancesEnded: counts.ended,
      tasksLost: tasks.tasksLost,
      duplicatesWithoutLockExpiry: findings.duplicatesWithoutLockExpiry,
      unexpectedIncidents: history.incidents,
      instancesCompleted: counts.completed,
      tasksCreated: tasks.tasksCreated,
      duplicatesWithNewKey: findings.duplicatesWithNewKey,
      redeliveriesAfterLockExpiry: findings.redeliveriesAfterLockExpiry,
      inDaemonRetries: findings.inDaemonRetries,
      serviceRequests: deliveries.length,
      injectedHttp500: deliveries.filter((delivery) => delivery.fault === 'http-500').length,
      injectedHttp503: deliveries.filter((delivery) => delivery.fault === 'http-503').length,
      injectedDelays: deliveries.filter((delivery) => delivery.fault === 'delay').length,
      daemonKills: supervisor.kills,
      engineRestarts: outages.length,
      engineDowntimeMs: outages.reduce((sum, outage) => sum + outage.to - outage.from, 0),
      durationMs: Date.now() - began,
      seed,
      lockDurationMs,
      examples: { duplicates: findings.examples, lostTasks: tasks.examples },
      workDir,
    };
  } finally {
    killing = false;
    await killLoop;
    await supervisor.stop();
    await service?.close();
    await engine?.stop();
    await deleteRedisKeys(keyPrefix).catch(() => undefined);
  }
}

/** Starts the daemon's child processes one at a time, each with its own worker id, and records their lives. */
class DaemonSupervisor {
  readonly generations: DaemonGeneration[] = [];
  kills = 0;
  readonly #logFile: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(logFile: string) {
    this.#logFile = logFile;
  }

  spawn(configFile: string): void {
    const workerId = `chaos-${this.generations.length}`;
    const logFd = openSync(this.#logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [cliPath, 'start', '--config', configFile], {
        stdio: ['ignore', logFd, logFd],
        env: { ...process.env, CHAOS_WORKER_ID: workerId },
      });
    } finally {
      closeSync(logFd);
    }
    this.#exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    this.#child = child;
    this.generations.push({ workerId, startedAt: Date.now(), killedAt: undefined });
  }

  /** Sends SIGKILL to the running daemon and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const generation = this.generations.at(-1);
    if (generation !== undefined) {
      generation.killedAt = Date.now();
    }
    child.kill('SIGKILL');
    this.kills += 1;
    await this.#exited;
    this.#child = undefined;
  }

  /** Sends SIGTERM to the running daemon, and SIGKILL when it has not exited within 30 s. Safe to call twice. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    child.kill('SIGTERM');
    const timer = new AbortController();
    const exited = await Promise.race([
      this.#exited.then(() => true),
      sleep(30_000, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (!exited) {
      child.kill('SIGKILL');
      await this.#exited;
    }
  }
}

/** Starts `count` instances, a few at a time, and returns how many the engine accepted. */
async function startInstances(url: string, processKey: string, count: number): Promise<number> {
  let next = 0;
  let started = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      await startProcessInstance(url, processKey, { businessKey: `order-${index}`, variables: { orderId: `o-${index}`, amountCents: 1_000 + index } });
      started += 1;
    }
  };
  await Promise.all(Array.from({ length: START_CONCURRENCY }, worker));
  return started;
}

/** Calls `check` until it returns true or the deadline passes; returns whether it did. Errors count as false (the engine may be restarting). */
async function waitUntil(check: () => Promise<boolean>, deadlineMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) {
      return true;
    }
    await sleep(intervalMs);
  }
  return false;
}

interface History {
  instances: HistoricProcessInstance[];
  taskLog: ExternalTaskLogEntry[];
  incidents: number;
}

async function readHistory(url: string, processKey: string): Promise<History> {
  const key = encodeURIComponent(processKey);
  return {
    instances: await readPages<HistoricProcessInstance>(url, `/history/process-instance?processDefinitionKey=${key}`),
    taskLog: await readPages<ExternalTaskLogEntry>(url, `/history/external-task-log?processDefinitionKey=${key}&sortBy=timestamp&sortOrder=asc`),
    incidents: (await getJson<{ count: number }>(url, `/history/incident/count?processDefinitionKey=${key}`)).count,
  };
}

async function readPages<T>(url: string, path: string): Promise<T[]> {
  const all: T[] = [];
  for (let first = 0; ; first += HISTORY_PAGE) {
    const page = await getJson<T[]>(url, `${path}&firstResult=${first}&maxResults=${HISTORY_PAGE}`);
    all.push(...page);
    if (page.length < HISTORY_PAGE) {
      return all;
    }
  }
}

async function getJson<T>(url: string, path: string): Promise<T> {
  const response = await request(`${url}${path}`, { headers: { accept: 'application/json' } });
  const text = await response.body.text();
  if (response.statusCode !== 200) {
    throw new Error(`GET ${path} returned HTTP ${response.statusCode}: ${text.slice(0, 500)}`);
  }
  return JSON.parse(text) as T;
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) {
        await client.del(...keys);
      }
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** Two external tasks in sequence; the second names its path in an activity property, as models do. */
function chaosProcess(processKey: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_${processKey}" targetNamespace="http://example.com/chaos">
  <bpmn:process id="${processKey}" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="Start" />
    <bpmn:serviceTask id="Charge" camunda:type="external" camunda:topic="chaos-a" />
    <bpmn:serviceTask id="Ship" camunda:type="external" camunda:topic="chaos-b">
      <bpmn:extensionElements><camunda:properties><camunda:property name="path" value="/b" /></camunda:properties></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="End" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start" targetRef="Charge" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Charge" targetRef="Ship" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Ship" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>
`;
}

/**
 * The daemon's configuration. Ten engine retries make an incident from the
 * injected 500s (a 5% chance per attempt) practically impossible, so any
 * incident is unexpected. The breaker threshold of 10 keeps the injected
 * 503s from opening it: its hand-back of tasks is tested on its own.
 */
function chaosConfig(engineUrl: string, serviceUrl: string, lockDurationMs: number, keyPrefix: string): string {
  return `engine:
  baseUrl: ${engineUrl}
  workerId: \${CHAOS_WORKER_ID}
  maxTasks: 20
  lockDuration: ${lockDurationMs}
  asyncResponseTimeout: 2s
  requestTimeout: 5s
  failure: { retries: 10, retryTimeout: 200ms, maxRetryTimeout: 2s }
services:
  chaos:
    baseUrl: ${serviceUrl}
    timeout: ${lockDurationMs * 4}
    maxConcurrent: 20
    breaker: { failureThreshold: 10 }
cache:
  redis: { url: '${REDIS_URL}', keyPrefix: '${keyPrefix}' }
topics:
  - { topic: chaos-a, service: chaos, path: /a }
  - { topic: chaos-b, service: chaos }
logging: { level: info }
shutdown: { gracePeriod: 5s }
`;
}
