/**
 * Soak: the daemon runs as its own process (`bpmn-task-router start`, the
 * compiled JavaScript with the shipped NODE_OPTIONS in the full run) under a
 * steady stream of single-task instances, and its RSS is sampled from
 * /proc/PID/status. The growth compares the mean RSS of the last tenth of
 * the run with that of the second tenth, after warm-up.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { deployBpmn, startProcessInstance } from '../../src/demo/engine-rest.ts';
import { compiledScript } from '../support/compiled.ts';
import { singleTaskProcess } from './processes.ts';
import { round } from './stats.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Instances started per second during the soak. */
const RATE_PER_SECOND = 40;
const TICK_MS = 250;
const SHIPPED_V8_FLAGS = ['--max-semi-space-size=8'];

export interface SoakOptions {
  engineUrl: string;
  runId: string;
  durationMs: number;
  sampleIntervalMs: number;
  /** Runs the compiled JavaScript, as an installed package does; otherwise the TypeScript sources. */
  compiled: boolean;
  /** Writes a V8 CPU profile of the daemon into this folder. */
  cpuProfileDir: string | undefined;
  workDir: string;
  progress: (message: string) => void;
}

export interface SoakResult {
  durationMinutes: number;
  ratePerSecond: number;
  form: string;
  tasksStarted: number;
  samples: { seconds: number; rssMb: number }[];
  baselineRssMb: number;
  endRssMb: number;
  growthPercent: number;
}

function rssMbOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (match === null) {
    throw new Error(`no VmRSS line in /proc/${pid}/status`);
  }
  return Number(match[1]) / 1024;
}

async function startService(): Promise<{ child: ChildProcess; origin: string }> {
  const child = fork(join(ROOT, 'bench', 'support', 'json-server.ts'), ['5'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('error', reject);
  });
  return { child, origin: `http://127.0.0.1:${port}` };
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const processKey = `Suite_Soak_${options.runId}`;
  const topic = `suite-soak-${options.runId}`;
  await deployBpmn(options.engineUrl, [{ name: `${processKey}.bpmn`, xml: singleTaskProcess(processKey, topic) }]);
  const service = await startService();

  mkdirSync(options.workDir, { recursive: true });
  const configFile = join(options.workDir, 'soak-daemon.yaml');
  writeFileSync(configFile, `
engine: { baseUrl: '${options.engineUrl}', workerId: bench-soak, maxTasks: 50, asyncResponseTimeout: 1s }
services:
  downstream: { baseUrl: '${service.origin}', maxConcurrent: 50 }
topics:
  - { topic: ${topic}, service: downstream }
logging: { level: warn }
`);
  const cli = join(ROOT, 'src', 'cli', 'main.ts');
  const script = options.compiled ? compiledScript(cli) : cli;
  const flags = [...(options.compiled ? SHIPPED_V8_FLAGS : []), ...(options.cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir])];
  const daemon = spawn(process.execPath, [...flags, script, 'start', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
  const pid = daemon.pid as number;

  const samples: { seconds: number; rssMb: number }[] = [];
  let tasksStarted = 0;
  let running = true;
  let feederError: unknown;
  const started = performance.now();
  // A rejected feeder must not reach Node's unhandled-rejection exit, which would leave the daemon child running.
  const feeder = (async () => {
    while (running) {
      const tickStarted = performance.now();
      const batch = Math.round((RATE_PER_SECOND * TICK_MS) / 1000);
      await Promise.all(Array.from({ length: batch }, () => startProcessInstance(options.engineUrl, processKey, { variables: { orderId: 'o-1', orderTotalCents: 12_345 } })));
      tasksStarted += batch;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, TICK_MS - (performance.now() - tickStarted))));
    }
  })().catch((error: unknown) => {
    feederError = error;
    running = false;
  });

  try {
    let nextProgress = 0;
    while (running && performance.now() - started < options.durationMs) {
      await new Promise((resolve) => setTimeout(resolve, options.sampleIntervalMs));
      const seconds = (performance.now() - started) / 1000;
      samples.push({ seconds: round(seconds, 1), rssMb: round(rssMbOf(pid), 1) });
      if (seconds >= nextProgress) {
        options.progress(`soak: ${Math.round(seconds)} s of ${Math.round(options.durationMs / 1000)} s, daemon RSS ${samples.at(-1)?.rssMb} MB, ${tasksStarted} tasks started`);
        nextProgress = seconds + Math.max(10, options.durationMs / 20_000);
      }
    }
  } finally {
    running = false;
    await feeder;
    daemon.kill('SIGTERM');
    const code = await exited;
    service.child.disconnect();
    if (code !== 0) {
      options.progress(`soak: the daemon exited with ${code}`);
    }
  }
  if (feederError !== undefined) {
    throw feederError;
  }

  const total = options.durationMs / 1000;
  const baseline = samples.filter((sample) => sample.seconds >= total * 0.1 && sample.seconds < total * 0.2).map((sample) => sample.rssMb);
  const end = samples.filter((sample) => sample.seconds >= total * 0.9).map((sample) => sample.rssMb);
  const baselineRssMb = mean(baseline);
  const endRssMb = mean(end);
  return {
    durationMinutes: round(options.durationMs / 60_000, 2),
    ratePerSecond: RATE_PER_SECOND,
    form: options.compiled ? `compiled JavaScript, ${SHIPPED_V8_FLAGS.join(' ')}` : 'TypeScript sources, default V8 flags',
    tasksStarted,
    samples,
    baselineRssMb: round(baselineRssMb, 1),
    endRssMb: round(endRssMb, 1),
    growthPercent: round(((endRssMb - baselineRssMb) / baselineRssMb) * 100, 1),
  };
}
