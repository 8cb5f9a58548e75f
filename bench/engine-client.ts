/**
 * Benchmark of the engine calls, side by side in one run against the bundled
 * Operaton engine: camunda-external-task-client-js 3.x (got inside), through
 * its own EngineService and TaskService, against the daemon's
 * Camunda7Adapter (undici). Both drain the same number of external tasks the
 * same way: fetch and lock up to 50, complete them all at once, repeat. The
 * figures are the client process's CPU per task (the engine runs in its own
 * JVM and is not counted) and tasks per second.
 *
 * Run: npm run bench:engine   (writes bench/results/engine-client.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from 'camunda-external-task-client-js';

import { parseConfig } from '../src/config/load.ts';
import { deployBpmn, startProcessInstance } from '../src/demo/engine-rest.ts';
import { startOperaton } from '../src/demo/operaton.ts';
import { Camunda7Adapter } from '../src/engine/camunda7/adapter.ts';
import { machineFacts } from './support/machine.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = join(here, 'results', 'engine-client.json');
const TASKS_PER_ROUND = Number(process.env.BENCH_TASKS ?? 1_000);
const ROUNDS = 3;
const MAX_TASKS = 50;
const TOPIC = 'engine-bench';
const PROCESS_KEY = 'EngineBench';
const START_CONCURRENCY = 8;

const BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_EngineBench" targetNamespace="http://example.com/bench">
  <bpmn:process id="${PROCESS_KEY}" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="Start" />
    <bpmn:serviceTask id="Work" camunda:type="external" camunda:topic="${TOPIC}" />
    <bpmn:endEvent id="End" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start" targetRef="Work" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Work" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>
`;

/** Fetches and locks up to MAX_TASKS tasks and completes them; resolves with how many it completed. */
type Drain = () => Promise<number>;

interface Sample {
  cpuMicrosPerTask: number;
  tasksPerSecond: number;
}

async function startInstances(restUrl: string, count: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: START_CONCURRENCY }, async () => {
    while (next < count) {
      next += 1;
      await startProcessInstance(restUrl, PROCESS_KEY, { variables: { orderId: `o-${next}`, items: ['sku-1', 'sku-2'], orderTotalCents: 12_345 } });
    }
  }));
}

async function measure(restUrl: string, drain: Drain): Promise<Sample> {
  await startInstances(restUrl, TASKS_PER_ROUND);
  let done = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  while (done < TASKS_PER_ROUND) {
    const completed = await drain();
    if (completed === 0) {
      throw new Error(`fetch returned no task after ${done} of ${TASKS_PER_ROUND}`);
    }
    done += completed;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { cpuMicrosPerTask: (cpu.user + cpu.system) / done, tasksPerSecond: done / ((performance.now() - started) / 1000) };
}

function clientDrain(restUrl: string): { drain: Drain; close(): void } {
  const client = new Client({ baseUrl: restUrl, workerId: 'bench-client-js', maxTasks: MAX_TASKS, autoPoll: false, usePriority: true });
  const { engineService, taskService } = client as unknown as {
    engineService: { fetchAndLock(body: unknown): Promise<{ id: string }[]> };
    taskService: { complete(task: { id: string }): Promise<void> };
  };
  return {
    drain: async () => {
      const tasks = await engineService.fetchAndLock({
        workerId: 'bench-client-js',
        maxTasks: MAX_TASKS,
        usePriority: true,
        topics: [{ topicName: TOPIC, lockDuration: 60_000 }],
      });
      await Promise.all(tasks.map((task) => taskService.complete(task)));
      return tasks.length;
    },
    close: () => client.stop(),
  };
}

function adapterDrain(restUrl: string): { drain: Drain; close(): Promise<void> } {
  const config = parseConfig(`engine: { baseUrl: '${restUrl}', workerId: bench-undici }\ntopics: [{ topic: ${TOPIC}, handler: bench/engine-client.ts }]\n`, { env: {} });
  const adapter = new Camunda7Adapter(config.engine, { connections: MAX_TASKS + 1 });
  return {
    drain: async () => {
      const fetched = await adapter.fetchAndLock({ topics: [{ topic: TOPIC, lockDurationMs: 60_000 }], maxTasks: MAX_TASKS, longPollMs: 0 });
      await Promise.all(fetched.map(({ task }) => adapter.complete(task, {})));
      return fetched.length;
    },
    close: () => adapter.close(),
  };
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

async function main(): Promise<void> {
  const engine = await startOperaton({ database: 'mem' });
  const loadAtStart = loadavg()[0] as number;
  const clientJs = clientDrain(engine.restUrl);
  const undici = adapterDrain(engine.restUrl);
  try {
    await deployBpmn(engine.restUrl, [{ name: 'engine-bench.bpmn', xml: BPMN }]);
    await measure(engine.restUrl, clientJs.drain);
    await measure(engine.restUrl, undici.drain);

    const clientSamples: Sample[] = [];
    const adapterSamples: Sample[] = [];
    for (let index = 0; index < ROUNDS; index += 1) {
      clientSamples.push(await measure(engine.restUrl, clientJs.drain));
      adapterSamples.push(await measure(engine.restUrl, undici.drain));
    }

    const clientCpu = median(clientSamples.map((sample) => sample.cpuMicrosPerTask));
    const adapterCpu = median(adapterSamples.map((sample) => sample.cpuMicrosPerTask));
    const clientRate = median(clientSamples.map((sample) => sample.tasksPerSecond));
    const adapterRate = median(adapterSamples.map((sample) => sample.tasksPerSecond));
    const results = {
      generatedAt: new Date().toISOString(),
      command: 'npm run bench:engine',
      machine: machineFacts(loadAtStart),
      node: process.version,
      method: { tasksPerRound: TASKS_PER_ROUND, rounds: ROUNDS, maxTasksPerFetch: MAX_TASKS, statistic: 'median over rounds', engine: 'bundled Operaton, in-memory H2' },
      clients: [
        { name: 'camunda-external-task-client-js (got)', cpuMicrosPerTask: round(clientCpu), tasksPerSecond: Math.round(clientRate) },
        { name: 'Camunda7Adapter (undici)', cpuMicrosPerTask: round(adapterCpu), tasksPerSecond: Math.round(adapterRate) },
      ],
      cpuRatioClientJsToAdapter: round(clientCpu / adapterCpu, 2),
      throughputRatioAdapterToClientJs: round(adapterRate / clientRate, 2),
    };
    mkdirSync(dirname(RESULTS_FILE), { recursive: true });
    writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    clientJs.close();
    await undici.close();
    await engine.stop();
  }
}

await main();
