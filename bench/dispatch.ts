/**
 * Benchmark of the dispatch layer, side by side in one run:
 *
 * 1. Batch: 100 tasks through `routeBatchTasks` to a service with a batch
 *    endpoint, against the same 100 tasks sent one request each to the same
 *    service without one. Both services take 5 ms per request and run
 *    `maxConcurrent: 10`.
 * 2. Added latency: 64 tasks in flight through `ServiceOrchestrator.routeTask`
 *    (route from a cached definition, per-service queue, retry loop,
 *    breaker, undici pool, response parsing), each latency minus the
 *    service's own time, which the service reports. This service takes
 *    50 ms: at 5 ms, 64 in flight would ask for 12,800 tasks per second,
 *    which saturates a 2-core machine, and the figure would measure the CPU
 *    queue rather than the dispatch path. The engine is not part of it:
 *    fetching and reporting are engine round trips, not dispatch.
 * 3. CPU per task of the same path, in the same runs, against a bare undici
 *    `Pool.request` loop sending the same request with 64 in flight.
 *
 * Both paths are warmed up first with enough tasks for V8 to finish
 * optimising them: a daemon runs for days, and the first seconds of
 * compilation would otherwise decide the figures. The measured rounds then
 * run in pairs, one round of each path, so a change in the machine's speed
 * between rounds affects both sides of a pair. The CPU ratio is the median
 * of the pairs' ratios.
 *
 * The npm script runs it with the container image's V8 flag
 * (`--max-semi-space-size=8`, see deploy/Dockerfile), as the daemon runs in
 * production. Both paths share the process, so both run under the flag.
 *
 * Run: npm run bench:dispatch   (writes bench/results/dispatch.json)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Pool } from 'undici';

import { parseConfig } from '../src/config/load.ts';
import { taskMetadata } from '../src/dispatch/http-dispatch.ts';
import type { Task } from '../src/engine/types.ts';
import { ServiceOrchestrator } from '../src/orchestrator.ts';
import { machineFacts } from './support/machine.ts';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_RESULTS_FILE lets the benchmark suite run this file without replacing the published results.
const RESULTS_FILE = process.env.BENCH_RESULTS_FILE ?? join(here, 'results', 'dispatch.json');
const BATCH_SERVICE_DELAY_MS = 5;
const LATENCY_SERVICE_DELAY_MS = 50;
const BATCH_TASKS = 100;
const BATCH_ROUNDS = 15;
const IN_FLIGHT = 64;
const LATENCY_TASKS = Number(process.env.BENCH_TASKS ?? 2_000);
const PAIRS = 10;
const WARM_UP_TASKS = Number(process.env.BENCH_WARM_UP_TASKS ?? 10_000);

const DEFINITION_ID = 'Bench:1:def';
const DEFINITION_XML = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_Bench" targetNamespace="http://example.com/bench">
  <bpmn:process id="Bench" isExecutable="true">
    <bpmn:startEvent id="Start" />
    <bpmn:serviceTask id="Work" camunda:type="external" camunda:topic="work" />
    <bpmn:serviceTask id="Single" camunda:type="external" camunda:topic="single" />
    <bpmn:serviceTask id="Batched" camunda:type="external" camunda:topic="batched" />
    <bpmn:endEvent id="End" />
  </bpmn:process>
</bpmn:definitions>
`;

const variables = { orderId: 'o-1', items: ['sku-1', 'sku-2'], orderTotalCents: 12_345 };

function task(id: number, topic: string, activityId: string): Task {
  return {
    id: `task-${id}`,
    topic,
    activityId,
    activityInstanceId: undefined,
    processInstanceId: `pi-${id}`,
    processDefinitionId: DEFINITION_ID,
    processDefinitionKey: 'Bench',
    businessKey: `order-${id}`,
    tenantId: undefined,
    retries: null,
    priority: 0,
    workerId: 'bench-worker',
    lockExpiresAt: undefined,
  };
}

async function startService(delayMs: number): Promise<{ child: ChildProcess; origin: string }> {
  const child = fork(join(here, 'support', 'dispatch-service.ts'), [String(delayMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('error', reject);
  });
  return { child, origin: `http://127.0.0.1:${port}` };
}

function createOrchestrator(latencyOrigin: string, batchOrigin: string): ServiceOrchestrator {
  const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
services:
  direct: { baseUrl: '${latencyOrigin}', maxConcurrent: ${IN_FLIGHT} }
  single: { baseUrl: '${batchOrigin}', maxConcurrent: 10 }
  batched: { baseUrl: '${batchOrigin}', maxConcurrent: 10, batch: { path: /batch, maxSize: ${BATCH_TASKS}, maxWait: 10ms } }
topics:
  - { topic: work, service: direct, path: /work }
  - { topic: single, service: single, path: /work }
  - { topic: batched, service: batched, path: /work }
logging: { level: silent }
`, { env: {} });
  return new ServiceOrchestrator({ config, definitionSource: { definitionXml: async () => DEFINITION_XML } });
}

function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] as number;
}

function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}

/** Sends 100 tasks as batches and one by one, in turns; returns the median wall time of each. */
async function measureBatch(orchestrator: ServiceOrchestrator): Promise<{ batchMs: number; oneByOneMs: number }> {
  const batchTimes: number[] = [];
  const singleTimes: number[] = [];
  let next = 0;
  for (let roundIndex = 0; roundIndex < BATCH_ROUNDS; roundIndex += 1) {
    for (const [topic, activityId, times] of [['batched', 'Batched', batchTimes], ['single', 'Single', singleTimes]] as const) {
      const tasks = Array.from({ length: BATCH_TASKS }, () => task(next++, topic, activityId));
      const started = performance.now();
      const outcomes = await orchestrator.routeBatchTasks(tasks, tasks.map(() => variables));
      times.push(performance.now() - started);
      if (outcomes.some((outcome) => outcome.kind !== 'complete')) {
        throw new Error(`a ${topic} task did not complete: ${JSON.stringify(outcomes.find((outcome) => outcome.kind !== 'complete'))}`);
      }
    }
  }
  return { batchMs: median(batchTimes), oneByOneMs: median(singleTimes) };
}

interface LoadSample {
  cpuMicrosPerTask: number;
  /** Client latency minus the service's own time, per task, in milliseconds. */
  addedMs: number[];
  tasksPerSecond: number;
}

/**
 * Runs `count` sends with `IN_FLIGHT` in flight; each send resolves with the
 * service's reported time in microseconds. The senders start spread over one
 * service delay: started together, their responses would all arrive in the
 * same instant each time, and the last of every burst would wait for the
 * others to be processed.
 */
async function runLoad(count: number, serviceDelayMs: number, send: (index: number) => Promise<number>): Promise<LoadSample> {
  const addedMs: number[] = [];
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = async (_: unknown, workerIndex: number): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, (workerIndex * serviceDelayMs) / IN_FLIGHT));
    while (next < count) {
      const index = next;
      next += 1;
      const sent = performance.now();
      const serviceMicros = await send(index);
      addedMs.push(performance.now() - sent - serviceMicros / 1000);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  addedMs.sort((a, b) => a - b);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { cpuMicrosPerTask: (cpu.user + cpu.system) / count, addedMs, tasksPerSecond: count / seconds };
}

function routeTaskSender(orchestrator: ServiceOrchestrator, offset: number): (index: number) => Promise<number> {
  return async (index) => {
    const outcome = await orchestrator.routeTask(task(offset + index, 'work', 'Work'), variables);
    if (outcome.kind !== 'complete') {
      throw new Error(`task did not complete: ${JSON.stringify(outcome)}`);
    }
    return outcome.variables.serviceMicros as number;
  };
}

/** Sends the same request as the dispatcher (headers, body with the task metadata) straight through an undici pool. */
function bareSender(pool: Pool, offset: number): (index: number) => Promise<number> {
  return async (index) => {
    const item = task(offset + index, 'work', 'Work');
    const response = await pool.request({
      method: 'POST',
      path: '/work',
      headers: { accept: 'application/json', 'idempotency-key': `${item.id}:initial`, 'content-type': 'application/json' },
      body: JSON.stringify({ variables, task: taskMetadata(item) }),
    });
    const body = JSON.parse(await response.body.text()) as { variables: { serviceMicros: number } };
    return body.variables.serviceMicros;
  };
}

async function main(): Promise<void> {
  const latencyService = await startService(LATENCY_SERVICE_DELAY_MS);
  const batchService = await startService(BATCH_SERVICE_DELAY_MS);
  const orchestrator = createOrchestrator(latencyService.origin, batchService.origin);
  const pool = new Pool(latencyService.origin, { connections: IN_FLIGHT, keepAliveTimeout: 30_000 });
  const loadAtStart = loadavg()[0] as number;

  try {
    await runLoad(WARM_UP_TASKS, LATENCY_SERVICE_DELAY_MS, routeTaskSender(orchestrator, 10_000_000));
    await runLoad(WARM_UP_TASKS, LATENCY_SERVICE_DELAY_MS, bareSender(pool, 10_000_000));
    const batch = await measureBatch(orchestrator);

    const daemonRounds: LoadSample[] = [];
    const bareRounds: LoadSample[] = [];
    const cpuRatios: number[] = [];
    for (let pair = 0; pair < PAIRS; pair += 1) {
      const offset = (pair + 1) * 1_000_000;
      // The order alternates, so neither path always runs right after the other's garbage.
      const runDaemon = () => runLoad(LATENCY_TASKS, LATENCY_SERVICE_DELAY_MS, routeTaskSender(orchestrator, offset));
      const runBare = () => runLoad(LATENCY_TASKS, LATENCY_SERVICE_DELAY_MS, bareSender(pool, offset));
      let daemon: LoadSample;
      let bare: LoadSample;
      if (pair % 2 === 0) {
        daemon = await runDaemon();
        bare = await runBare();
      } else {
        bare = await runBare();
        daemon = await runDaemon();
      }
      daemonRounds.push(daemon);
      bareRounds.push(bare);
      cpuRatios.push(daemon.cpuMicrosPerTask / bare.cpuMicrosPerTask);
    }

    // Each percentile is the median over the rounds, so one round hit by a pause of the machine does not decide it.
    const roundPercentile = (rounds: LoadSample[], share: number) => median(rounds.map((sample) => percentile(sample.addedMs, share)));
    const daemonCpu = median(daemonRounds.map((sample) => sample.cpuMicrosPerTask));
    const bareCpu = median(bareRounds.map((sample) => sample.cpuMicrosPerTask));

    const results = {
      generatedAt: new Date().toISOString(),
      command: 'npm run bench:dispatch',
      machine: machineFacts(loadAtStart),
      node: process.version,
      nodeFlags: process.execArgv,
      batchSpeedupVsOneByOne: round(batch.oneByOneMs / batch.batchMs, 2),
      addedLatencyP50Ms: round(roundPercentile(daemonRounds, 0.5)),
      addedLatencyP99Ms: round(roundPercentile(daemonRounds, 0.99)),
      cpuPerTaskRatioVsBareUndici: round(median(cpuRatios), 2),
      details: {
        batch: { serviceDelayMs: BATCH_SERVICE_DELAY_MS, tasks: BATCH_TASKS, rounds: BATCH_ROUNDS, maxConcurrent: 10, batchMedianMs: round(batch.batchMs, 2), oneByOneMedianMs: round(batch.oneByOneMs, 2) },
        load: { serviceDelayMs: LATENCY_SERVICE_DELAY_MS, inFlight: IN_FLIGHT, warmUpTasksPerPath: WARM_UP_TASKS, tasksPerRound: LATENCY_TASKS, pairs: PAIRS },
        cpuRatioPerPair: cpuRatios.map((ratio) => round(ratio, 2)),
        routeTask: {
          addedLatencyP50Ms: round(roundPercentile(daemonRounds, 0.5)),
          addedLatencyP99Ms: round(roundPercentile(daemonRounds, 0.99)),
          addedLatencyP99MsPerRound: daemonRounds.map((sample) => round(percentile(sample.addedMs, 0.99))),
          cpuMicrosPerTask: round(daemonCpu, 1),
          tasksPerSecond: Math.round(median(daemonRounds.map((sample) => sample.tasksPerSecond))),
        },
        bareUndici: {
          addedLatencyP50Ms: round(roundPercentile(bareRounds, 0.5)),
          addedLatencyP99Ms: round(roundPercentile(bareRounds, 0.99)),
          addedLatencyP99MsPerRound: bareRounds.map((sample) => round(percentile(sample.addedMs, 0.99))),
          cpuMicrosPerTask: round(bareCpu, 1),
          tasksPerSecond: Math.round(median(bareRounds.map((sample) => sample.tasksPerSecond))),
        },
      },
    };

    mkdirSync(dirname(RESULTS_FILE), { recursive: true });
    writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await orchestrator.close();
    await pool.close();
    latencyService.child.disconnect();
    batchService.child.disconnect();
  }
}

await main();
