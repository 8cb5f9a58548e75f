/**
 * The suite's microbenchmarks and the RSS with cached definitions. Warm
 * routing is measured here; the others run the existing benchmarks as child
 * processes (bench/dispatch.ts, bench/definitions.ts, bench/definitions-rss.ts)
 * and read their figures, with the results file redirected so the published
 * files stay as they are.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import xml2js from 'xml2js';

import { parseConfig } from '../../src/config/load.ts';
import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import type { Task } from '../../src/engine/types.ts';
import { ServiceOrchestrator } from '../../src/orchestrator.ts';
import { largeProcess, workflowProcess } from './processes.ts';
import { median, percentile, round, type SuiteSize } from './stats.ts';

const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const ROUTE_SAMPLES: Record<SuiteSize, number> = { full: 200_000, small: 5_000 };
const ROUTE_WARM_UP = 20_000;

function routeTask(index: number, definitionId: string): Task {
  return {
    id: `task-${index}`,
    topic: 'work',
    activityId: `Task_${(index % 5) + 1}`,
    activityInstanceId: undefined,
    processInstanceId: `pi-${index}`,
    processDefinitionId: definitionId,
    processDefinitionKey: 'Route',
    businessKey: undefined,
    tenantId: undefined,
    retries: null,
    priority: 0,
    workerId: 'bench-worker',
    lockExpiresAt: undefined,
  };
}

/**
 * Times `ServiceOrchestrator.resolveRoute` one call at a time on a warm
 * cache (the five-task workflow's definition, its activities' properties
 * cached): the step that turns a fetched task into a request.
 */
export async function measureWarmRoute(size: SuiteSize): Promise<{ samples: number; p50Us: number; p99Us: number; p999Us: number }> {
  const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:9/engine-rest }
services: { downstream: { baseUrl: http://127.0.0.1:9 } }
topics: [{ topic: work, service: downstream }]
logging: { level: silent }
`, { env: {} });
  const xml = workflowProcess('Route', 'work');
  const orchestrator = new ServiceOrchestrator({ config, definitionSource: { definitionXml: async () => xml } });
  const definitionId = 'Route:1:bench';
  try {
    for (let index = 0; index < ROUTE_WARM_UP; index += 1) {
      await orchestrator.resolveRoute(routeTask(index, definitionId));
    }
    const samples = ROUTE_SAMPLES[size];
    const tasks = Array.from({ length: 1_000 }, (_, index) => routeTask(index, definitionId));
    const micros = new Float64Array(samples);
    for (let index = 0; index < samples; index += 1) {
      const task = tasks[index % tasks.length] as Task;
      const started = performance.now();
      await orchestrator.resolveRoute(task);
      micros[index] = (performance.now() - started) * 1000;
    }
    const sorted = [...micros].sort((a, b) => a - b);
    return { samples, p50Us: round(percentile(sorted, 0.5), 3), p99Us: round(percentile(sorted, 0.99), 3), p999Us: round(percentile(sorted, 0.999), 3) };
  } finally {
    await orchestrator.close();
  }
}

/** Runs a benchmark script in a child Node process, its progress on our stderr. */
function runChild(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, script], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) {
        resolve();
      } else {
        reject(new Error(`${script} exited with ${signal ?? code}; run it alone to see why`));
      }
    });
  });
}

/** bench/dispatch.ts, with the image's V8 flag as its npm script gives it: CPU per task of routeTask against a bare undici loop, and the batch figures. */
export async function runDispatchBenchmark(size: SuiteSize, resultsFile: string): Promise<Record<string, unknown>> {
  await runChild(join(BENCH_DIR, 'dispatch.ts'), ['--max-semi-space-size=8'], { BENCH_RESULTS_FILE: resultsFile, ...(size === 'small' ? { BENCH_TASKS: '300', BENCH_WARM_UP_TASKS: '300' } : {}) });
  return JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
}

/** bench/definitions.ts (about two minutes): parse throughput against xml2js and RSS with 10,000 definitions. */
export async function runDefinitionsBenchmark(resultsFile: string): Promise<Record<string, unknown>> {
  await runChild(join(BENCH_DIR, 'definitions.ts'), [], { BENCH_RESULTS_FILE: resultsFile });
  return JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
}

/**
 * The short run's stand-in for bench/definitions.ts: parse throughput of our
 * extractor against xml2js on the large BPMN of the scenarios, and the RSS
 * child with fewer definitions, from the TypeScript sources.
 */
export async function runDefinitionsShort(definitions: number): Promise<{ parseThroughputRatioVsXml2js: number; rssMb: number; definitions: number }> {
  const xml = largeProcess('Parse', 'work');
  const timeOf = async (parse: () => unknown): Promise<number> => {
    const times: number[] = [];
    for (let sample = 0; sample < 5; sample += 1) {
      const started = performance.now();
      await parse();
      times.push(performance.now() - started);
    }
    return median(times);
  };
  const oursMs = await timeOf(() => parseDefinition(xml));
  const xml2jsMs = await timeOf(() => xml2js.parseStringPromise(xml));

  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=8', join(BENCH_DIR, 'definitions-rss.ts')], {
      env: { ...process.env, BENCH_RSS_DEFINITIONS: String(definitions) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`definitions-rss.ts exited with ${code}`))));
  });
  const rss = JSON.parse(output) as { rssMb: number; definitionsCached: number };
  return { parseThroughputRatioVsXml2js: round(xml2jsMs / oursMs, 2), rssMb: rss.rssMb, definitions: rss.definitionsCached };
}
