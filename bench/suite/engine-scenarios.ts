/**
 * The parts of the suite that run on the real engine: the five scenarios,
 * each run by ours, the naive orchestrator and the bare client in turns,
 * and the throughput of ours, the bare client and the raw REST loop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { deployBpmn, startProcessInstance } from '../../src/demo/engine-rest.ts';
import { request } from 'undici';

import { BATCH_SIZE, batchProcess, batchSignal, largeProcess, singleTaskProcess, WORKFLOW_TASKS, workflowProcess } from './processes.ts';
import { median, round, type SuiteSize } from './stats.ts';
import { CompletionCounter, createWorker, rawLoop, type OrchestratorName, type Worker } from './workers.ts';

const SUPPORT_DIR = fileURLToPath(new URL('../support/', import.meta.url));
/** Fixed latency of the downstream service, in milliseconds. */
export const SERVICE_DELAY_MS = 5;
const START_CONCURRENCY = 8;
const WAIT_TIMEOUT_MS = Number(process.env.BENCH_WAIT_MS ?? 300_000);
const ORCHESTRATORS: readonly OrchestratorName[] = ['ours', 'naive', 'bareClient'];

export type ScenarioName = 'singleTask' | 'fiveTaskWorkflow' | 'repeatedWorkflows' | 'batch' | 'largeBpmn';
export const SCENARIOS: readonly ScenarioName[] = ['singleTask', 'fiveTaskWorkflow', 'repeatedWorkflows', 'batch', 'largeBpmn'];

interface Sizes {
  rounds: number;
  /** Instances timed one after another in the single-task and five-task scenarios; the median is kept. */
  repeats: number;
  /** Five-task workflow instances started together in the repeated-workflows scenario. */
  repeatedInstances: number;
  /** Instances of the large BPMN started together on a freshly deployed version. */
  largeInstances: number;
  /** Tasks per throughput round. */
  throughputTasks: number;
}

const SIZES: Record<SuiteSize, Sizes> = {
  full: { rounds: 3, repeats: 10, repeatedInstances: 20, largeInstances: 10, throughputTasks: 1_000 },
  small: { rounds: 1, repeats: 2, repeatedInstances: 3, largeInstances: 2, throughputTasks: 60 },
};

export interface EngineScenarioResults {
  method: Record<string, unknown>;
  /** Median milliseconds per scenario and orchestrator. */
  scenarios: Record<ScenarioName, Record<OrchestratorName, number>>;
  /** Every round's milliseconds, per scenario and orchestrator. */
  scenarioRounds: Record<ScenarioName, Record<OrchestratorName, number[]>>;
  /** Median tasks per second. */
  throughput: Record<'ours' | 'bareClient' | 'rawLoop', number>;
  throughputRounds: Record<'ours' | 'bareClient' | 'rawLoop', number[]>;
}

export interface EngineScenarioOptions {
  engineUrl: string;
  size: SuiteSize;
  runId: string;
  progress: (message: string) => void;
}

async function startService(delayMs: number): Promise<{ child: ChildProcess; origin: string }> {
  const child = fork(join(SUPPORT_DIR, 'json-server.ts'), [String(delayMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('error', reject);
  });
  return { child, origin: `http://127.0.0.1:${port}` };
}

async function startInstances(engineUrl: string, processKey: string, count: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, count) }, async () => {
    while (next < count) {
      next += 1;
      await startProcessInstance(engineUrl, processKey, { variables: { orderId: `o-${next}`, items: ['sku-1', 'sku-2'], orderTotalCents: 12_345 } });
    }
  }));
}

interface Lane {
  name: OrchestratorName;
  topic: string;
  keys: { single: string; workflow: string; batch: string; large: string };
  worker: Worker;
}

/** Starts `instances` instances of `processKey` and resolves with the milliseconds until `tasks` more tasks have completed. */
async function timeInstances(engineUrl: string, lane: Lane, processKey: string, instances: number, tasks: number): Promise<number> {
  const target = lane.worker.counter.count + tasks;
  const started = performance.now();
  await startInstances(engineUrl, processKey, instances);
  await lane.worker.counter.waitFor(target, WAIT_TIMEOUT_MS, `${lane.name} on ${processKey}`);
  return performance.now() - started;
}

/** Starts BATCH_SIZE instances that wait for the signal, then resolves with the milliseconds from the signal until all their tasks have completed. */
async function timeBatch(engineUrl: string, lane: Lane): Promise<number> {
  await startInstances(engineUrl, lane.keys.batch, BATCH_SIZE);
  const target = lane.worker.counter.count + BATCH_SIZE;
  const started = performance.now();
  const response = await request(`${engineUrl}/signal`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: batchSignal(lane.keys.batch) }),
  });
  await response.body.dump();
  if (response.statusCode !== 204) {
    throw new Error(`sending signal ${batchSignal(lane.keys.batch)} returned HTTP ${response.statusCode}`);
  }
  await lane.worker.counter.waitFor(target, WAIT_TIMEOUT_MS, `${lane.name} on ${lane.keys.batch}`);
  return performance.now() - started;
}

async function runScenario(scenario: ScenarioName, lane: Lane, options: EngineScenarioOptions, sizes: Sizes): Promise<number> {
  const { engineUrl } = options;
  switch (scenario) {
    case 'singleTask':
    case 'fiveTaskWorkflow': {
      const key = scenario === 'singleTask' ? lane.keys.single : lane.keys.workflow;
      const tasks = scenario === 'singleTask' ? 1 : WORKFLOW_TASKS;
      const times: number[] = [];
      for (let repeat = 0; repeat < sizes.repeats; repeat += 1) {
        times.push(await timeInstances(engineUrl, lane, key, 1, tasks));
      }
      return median(times);
    }
    case 'repeatedWorkflows':
      return timeInstances(engineUrl, lane, lane.keys.workflow, sizes.repeatedInstances, sizes.repeatedInstances * WORKFLOW_TASKS);
    case 'batch':
      return timeBatch(engineUrl, lane);
    case 'largeBpmn':
      // A new version has a new definition id, so no orchestrator has it cached.
      await deployBpmn(engineUrl, [{ name: `${lane.keys.large}.bpmn`, xml: largeProcess(lane.keys.large, lane.topic) }]);
      return timeInstances(engineUrl, lane, lane.keys.large, sizes.largeInstances, sizes.largeInstances);
  }
}

async function runScenarios(options: EngineScenarioOptions, sizes: Sizes, serviceOrigin: string) {
  const { engineUrl, runId, progress } = options;
  const lanes: Lane[] = [];
  for (const name of ORCHESTRATORS) {
    const topic = `suite-${name}-${runId}`;
    const prefix = `Suite_${name}_${runId}`;
    const keys = { single: `${prefix}_Single`, workflow: `${prefix}_Workflow`, batch: `${prefix}_Batch`, large: `${prefix}_Large` };
    await deployBpmn(engineUrl, [
      { name: `${keys.single}.bpmn`, xml: singleTaskProcess(keys.single, topic) },
      { name: `${keys.workflow}.bpmn`, xml: workflowProcess(keys.workflow, topic) },
      { name: `${keys.batch}.bpmn`, xml: batchProcess(keys.batch, topic) },
    ]);
    lanes.push({ name, topic, keys, worker: createWorker(name, { engineUrl, serviceOrigin, topics: [topic] }) });
  }

  const rounds = Object.fromEntries(SCENARIOS.map((scenario) => [scenario, Object.fromEntries(ORCHESTRATORS.map((name) => [name, [] as number[]]))])) as
    EngineScenarioResults['scenarioRounds'];
  for (const lane of lanes) {
    lane.worker.start();
  }
  try {
    // Warm-up: connections, JIT and, for ours, the cached definitions of the small processes.
    for (const lane of lanes) {
      await timeInstances(engineUrl, lane, lane.keys.workflow, 2, 2 * WORKFLOW_TASKS);
      await timeBatch(engineUrl, lane);
    }
    for (let roundIndex = 0; roundIndex < sizes.rounds; roundIndex += 1) {
      for (const scenario of SCENARIOS) {
        // The orchestrator that goes first rotates from round to round.
        const order = lanes.map((_, index) => lanes[(index + roundIndex) % lanes.length] as Lane);
        for (const lane of order) {
          const milliseconds = await runScenario(scenario, lane, options, sizes);
          rounds[scenario][lane.name].push(milliseconds);
          progress(`scenarios: round ${roundIndex + 1}/${sizes.rounds}, ${scenario}, ${lane.name}: ${round(milliseconds, 1)} ms`);
        }
      }
    }
  } finally {
    for (const lane of lanes) {
      await lane.worker.stop();
    }
  }
  return rounds;
}

type ThroughputName = 'ours' | 'bareClient' | 'rawLoop';

/** Pre-starts the tasks with no worker subscribed, then times one worker draining them. */
async function measureThroughput(name: ThroughputName, options: EngineScenarioOptions, sizes: Sizes, serviceOrigin: string, processKey: string, topic: string): Promise<number> {
  const { engineUrl } = options;
  await startInstances(engineUrl, processKey, sizes.throughputTasks);
  if (name === 'rawLoop') {
    const counter = new CompletionCounter();
    const started = performance.now();
    await rawLoop(engineUrl, topic, sizes.throughputTasks, counter);
    return sizes.throughputTasks / ((performance.now() - started) / 1000);
  }
  const worker = createWorker(name, { engineUrl, serviceOrigin, topics: [topic] });
  const started = performance.now();
  worker.start();
  try {
    await worker.counter.waitFor(sizes.throughputTasks, WAIT_TIMEOUT_MS, `${name} throughput`);
    return sizes.throughputTasks / ((performance.now() - started) / 1000);
  } finally {
    await worker.stop();
  }
}

async function runThroughput(options: EngineScenarioOptions, sizes: Sizes, serviceOrigin: string) {
  const names: ThroughputName[] = ['ours', 'bareClient', 'rawLoop'];
  const lanes = new Map<ThroughputName, { processKey: string; topic: string }>();
  for (const name of names) {
    const processKey = `Suite_Throughput_${name}_${options.runId}`;
    const topic = `suite-throughput-${name}-${options.runId}`;
    await deployBpmn(options.engineUrl, [{ name: `${processKey}.bpmn`, xml: singleTaskProcess(processKey, topic) }]);
    lanes.set(name, { processKey, topic });
  }
  const rounds: Record<ThroughputName, number[]> = { ours: [], bareClient: [], rawLoop: [] };
  for (let roundIndex = 0; roundIndex < sizes.rounds; roundIndex += 1) {
    const order = names.map((_, index) => names[(index + roundIndex) % names.length] as ThroughputName);
    for (const name of order) {
      const lane = lanes.get(name) as { processKey: string; topic: string };
      const rate = await measureThroughput(name, options, sizes, serviceOrigin, lane.processKey, lane.topic);
      rounds[name].push(rate);
      options.progress(`throughput: round ${roundIndex + 1}/${sizes.rounds}, ${name}: ${Math.round(rate)} tasks/s`);
    }
  }
  return rounds;
}

export async function runEngineScenarios(options: EngineScenarioOptions): Promise<EngineScenarioResults> {
  const sizes = SIZES[options.size];
  const service = await startService(SERVICE_DELAY_MS);
  try {
    const scenarioRounds = await runScenarios(options, sizes, service.origin);
    const throughputRounds = await runThroughput(options, sizes, service.origin);
    const scenarios = Object.fromEntries(SCENARIOS.map((scenario) => [
      scenario,
      Object.fromEntries(ORCHESTRATORS.map((name) => [name, round(median(scenarioRounds[scenario][name]), 1)])),
    ])) as EngineScenarioResults['scenarios'];
    const throughput = {
      ours: Math.round(median(throughputRounds.ours)),
      bareClient: Math.round(median(throughputRounds.bareClient)),
      rawLoop: Math.round(median(throughputRounds.rawLoop)),
    };
    return {
      method: {
        serviceDelayMs: SERVICE_DELAY_MS,
        ...sizes,
        batchSize: BATCH_SIZE,
        workflowTasks: WORKFLOW_TASKS,
        statistic: 'median over rounds; single-task and five-task scenarios take the median of their repeats within a round',
      },
      scenarios,
      scenarioRounds,
      throughput,
      throughputRounds: {
        ours: throughputRounds.ours.map((rate) => Math.round(rate)),
        bareClient: throughputRounds.bareClient.map((rate) => Math.round(rate)),
        rawLoop: throughputRounds.rawLoop.map((rate) => Math.round(rate)),
      },
    };
  } finally {
    service.child.disconnect();
  }
}
