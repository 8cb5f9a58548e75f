/**
 * Benchmark of `engine.includeExtensionProperties`, side by side in one run
 * against the bundled Operaton engine: routing from the activity properties
 * that fetch-and-lock returns with each task, against routing from the
 * definition XML (fetched once per definition, parsed and cached). Each
 * round drains its tasks the daemon's way (fetch and lock up to 50 tasks,
 * route each through a ServiceOrchestrator to an in-process handler,
 * complete them) with a fresh orchestrator, so the definition caches start
 * empty.
 *
 * Prediction is off, since it reads each definition after routing either
 * way. Two workloads: `cold`, one task in each of many freshly deployed
 * definitions (every task needs its definition's XML), and `warm`, many
 * tasks of one definition (one XML fetch, then cache hits). The models carry
 * a diagram (BPMNDI), as modellers save them. The figures are wall time,
 * tasks per second, the client's CPU per task (the engine runs in its own JVM
 * and is not counted), the definition XML requests and the fetch-and-lock
 * response bytes per task, measured by a loopback proxy.
 *
 * Run: npm run bench:extension-properties   (writes bench/results/extension-properties.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseConfig } from '../src/config/load.ts';
import { deployBpmn, startProcessInstance } from '../src/demo/engine-rest.ts';
import { startOperaton } from '../src/demo/operaton.ts';
import { Camunda7Adapter } from '../src/engine/camunda7/adapter.ts';
import { ServiceOrchestrator } from '../src/orchestrator.ts';
import { startCountingProxy, type CountingProxy } from '../test/support/counting-proxy.ts';
import { machineFacts } from './support/machine.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = join(here, 'results', 'extension-properties.json');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MAX_TASKS = 50;
/** Definitions of the cold workload, one task each. */
const COLD_DEFINITIONS = Number(process.env.BENCH_DEFINITIONS ?? 20);
/** Tasks of the warm workload, all of one definition. */
const WARM_TASKS = Number(process.env.BENCH_TASKS ?? 300);
/** Plain tasks after the routed one, so each model has the size of a real one; the engine passes them at once. */
const FOLLOWING_ACTIVITIES = 40;
const START_CONCURRENCY = 8;

type Mode = 'definition XML' | 'fetched properties';
const MODES: readonly Mode[] = ['definition XML', 'fetched properties'];

interface Sample {
  wallMs: number;
  tasksPerSecond: number;
  cpuMicrosPerTask: number;
  xmlFetches: number;
  fetchBytesPerTask: number;
}

/**
 * Builds a process with its diagram: start, the routed task `Work` on
 * `topic` with five properties, a chain of plain tasks that the engine
 * passes through, and the end. Instances end after `Work`, so the engine's
 * runtime tables stay small.
 */
function processXml(key: string, topic: string): string {
  const ids = ['Start', 'Work', ...Array.from({ length: FOLLOWING_ACTIVITIES }, (_, index) => `Step_${index}`), 'End'];
  const elements = ids.map((id) => {
    if (id === 'Start') {
      return '<bpmn:startEvent id="Start" name="Order received" />';
    }
    if (id === 'End') {
      return '<bpmn:endEvent id="End" name="Order done" />';
    }
    if (id === 'Work') {
      return `<bpmn:serviceTask id="Work" name="Route me" camunda:type="external" camunda:topic="${topic}"><bpmn:extensionElements><camunda:properties>`
        + '<camunda:property name="path" value="/orders/reserve" /><camunda:property name="method" value="POST" />'
        + '<camunda:property name="resultVariable" value="reservation" /><camunda:property name="errors" value="409=OUT_OF_STOCK" />'
        + '<camunda:property name="owner" value="inventory-team" /></camunda:properties></bpmn:extensionElements></bpmn:serviceTask>';
    }
    return `<bpmn:task id="${id}" name="Step ${id}"><bpmn:documentation>Step ${id} of the order flow.</bpmn:documentation></bpmn:task>`;
  });
  const flows = ids.slice(1).map((id, index) => `<bpmn:sequenceFlow id="Flow_${index}" sourceRef="${ids[index]}" targetRef="${id}" />`);
  const shapes = ids.map((id, index) => `<bpmndi:BPMNShape id="${id}_di" bpmnElement="${id}"><dc:Bounds x="${160 + index * 150}" y="100" width="100" height="80" /></bpmndi:BPMNShape>`);
  const edges = ids.slice(1).map((_, index) => `<bpmndi:BPMNEdge id="Flow_${index}_di" bpmnElement="Flow_${index}"><di:waypoint x="${260 + index * 150}" y="140" /><di:waypoint x="${310 + index * 150}" y="140" /></bpmndi:BPMNEdge>`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_${key}" targetNamespace="http://example.com/bench">
  <bpmn:process id="${key}" isExecutable="true" camunda:historyTimeToLive="P1D">
    ${elements.join('\n    ')}
    ${flows.join('\n    ')}
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_${key}"><bpmndi:BPMNPlane id="Plane_${key}" bpmnElement="${key}">
    ${shapes.join('\n    ')}
    ${edges.join('\n    ')}
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
`;
}

/** Deploys the workload's definitions under fresh keys and starts its instances; returns the topic. */
async function prepare(restUrl: string, workload: 'cold' | 'warm', label: string): Promise<{ topic: string; tasks: number }> {
  const topic = `bench-${workload}-${label}`;
  const keys = workload === 'cold'
    ? Array.from({ length: COLD_DEFINITIONS }, (_, index) => `Bench_${workload}_${label}_${index}`)
    : [`Bench_${workload}_${label}`];
  await deployBpmn(restUrl, keys.map((key) => ({ name: `${key}.bpmn`, xml: processXml(key, topic) })), { timeoutMs: 120_000 });

  const starts = workload === 'cold' ? keys : Array.from({ length: WARM_TASKS }, () => keys[0] as string);
  let next = 0;
  await Promise.all(Array.from({ length: START_CONCURRENCY }, async () => {
    while (next < starts.length) {
      const key = starts[next] as string;
      next += 1;
      // A generous timeout: on a loaded machine the first start of a fresh definition took over 30 s.
      await startProcessInstance(restUrl, key, { variables: { orderId: `o-${next}` }, timeoutMs: 120_000 });
    }
  }));
  return { topic, tasks: starts.length };
}

async function measure(proxy: CountingProxy, engineRestUrl: string, workload: 'cold' | 'warm', mode: Mode, label: string): Promise<Sample> {
  const { topic, tasks } = await prepare(engineRestUrl, workload, label);
  const config = parseConfig(`
engine:
  baseUrl: '${proxy.url}'
  workerId: bench-extension-properties
  includeExtensionProperties: ${mode === 'fetched properties'}
# Prediction would read every definition after routing; the comparison is of routing alone.
prediction: { enabled: false }
topics:
  - topic: ${topic}
    handler: bench/support/complete-handler.ts
`, { env: {}, baseDir: join(here, '..') });
  const orchestrator = new ServiceOrchestrator({ config });
  const adapter = new Camunda7Adapter(config.engine, { connections: MAX_TASKS + 1 });
  const xmlBefore = proxy.xmlFetches;
  const bytesBefore = proxy.fetchResponseBytes;

  try {
    let done = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    while (done < tasks) {
      const fetched = await adapter.fetchAndLock({ topics: [{ topic, lockDurationMs: 60_000 }], maxTasks: MAX_TASKS, longPollMs: 0 });
      if (fetched.length === 0) {
        throw new Error(`fetch returned no task after ${done} of ${tasks}`);
      }
      await Promise.all(fetched.map(async ({ task, variables }) => {
        const outcome = await orchestrator.routeTask(task, variables);
        if (outcome.kind !== 'complete') {
          throw new Error(`task ${task.id} ended as ${outcome.kind}: ${'message' in outcome ? outcome.message : ''}`);
        }
        await adapter.complete(task, outcome.variables);
      }));
      done += fetched.length;
    }
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      wallMs,
      tasksPerSecond: done / (wallMs / 1000),
      cpuMicrosPerTask: (cpu.user + cpu.system) / done,
      xmlFetches: proxy.xmlFetches - xmlBefore,
      fetchBytesPerTask: (proxy.fetchResponseBytes - bytesBefore) / done,
    };
  } finally {
    await adapter.close();
    await orchestrator.close();
  }
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

function summary(samples: readonly Sample[]) {
  return {
    wallMsPerRound: samples.map((sample) => Math.round(sample.wallMs)),
    wallMs: Math.round(median(samples.map((sample) => sample.wallMs))),
    tasksPerSecond: Math.round(median(samples.map((sample) => sample.tasksPerSecond))),
    cpuMicrosPerTask: round(median(samples.map((sample) => sample.cpuMicrosPerTask))),
    xmlFetches: median(samples.map((sample) => sample.xmlFetches)),
    fetchBytesPerTask: Math.round(median(samples.map((sample) => sample.fetchBytesPerTask))),
  };
}

async function main(): Promise<void> {
  const engine = await startOperaton({ database: 'mem' });
  const proxy = await startCountingProxy(engine.restUrl);
  const loadAtStart = loadavg()[0] as number;
  try {
    // One warm-up of each mode, not recorded: JIT on both sides, connection set-up.
    for (const mode of MODES) {
      await measure(proxy, engine.restUrl, 'warm', mode, `warmup-${MODES.indexOf(mode)}`);
    }

    const workloads = {} as Record<'cold' | 'warm', Record<Mode, ReturnType<typeof summary>>>;
    for (const workload of ['cold', 'warm'] as const) {
      const samples: Record<Mode, Sample[]> = { 'definition XML': [], 'fetched properties': [] };
      for (let index = 0; index < ROUNDS; index += 1) {
        for (const mode of MODES) {
          samples[mode].push(await measure(proxy, engine.restUrl, workload, mode, `${index}-${MODES.indexOf(mode)}`));
        }
      }
      workloads[workload] = { 'definition XML': summary(samples['definition XML']), 'fetched properties': summary(samples['fetched properties']) };
    }

    const ratio = (workload: 'cold' | 'warm', field: 'wallMs' | 'cpuMicrosPerTask' | 'fetchBytesPerTask') =>
      round(workloads[workload]['definition XML'][field] / workloads[workload]['fetched properties'][field], 2);
    const results = {
      generatedAt: new Date().toISOString(),
      command: 'npm run bench:extension-properties',
      machine: machineFacts(loadAtStart),
      node: process.version,
      method: {
        coldDefinitions: COLD_DEFINITIONS,
        warmTasks: WARM_TASKS,
        activitiesPerModel: FOLLOWING_ACTIVITIES + 3,
        modelBytes: Buffer.byteLength(processXml('Bench_size', 'bench-size')),
        rounds: ROUNDS,
        maxTasksPerFetch: MAX_TASKS,
        statistic: 'median over rounds, modes alternating',
        engine: 'bundled Operaton, in-memory H2, through a loopback proxy that counts bytes',
      },
      workloads,
      ratiosXmlToFetchedProperties: {
        coldWallTime: ratio('cold', 'wallMs'),
        coldCpuPerTask: ratio('cold', 'cpuMicrosPerTask'),
        warmWallTime: ratio('warm', 'wallMs'),
        warmCpuPerTask: ratio('warm', 'cpuMicrosPerTask'),
        warmFetchBytesPerTask: ratio('warm', 'fetchBytesPerTask'),
      },
    };
    mkdirSync(dirname(RESULTS_FILE), { recursive: true });
    writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await proxy.close();
    await engine.stop();
  }
}

await main();
