/**
 * The demo: starts the bundled engine and the example service, deploys the
 * example processes, starts order instances, runs the daemon until every
 * instance has ended, prints a summary, and stops everything it started.
 */
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Progress } from '../cli/progress.ts';
import { loadConfigFile } from '../config/load.ts';
import { Daemon } from '../daemon/daemon.ts';
import { createLogger } from '../telemetry/logger.ts';
import { countProcessInstances, deployBpmn, getEngineVersion, listIncidents, startProcessInstance } from './engine-rest.ts';
import { exampleOrder, startExampleService, type ExampleService } from './example-service.ts';
import { startOperaton, type OperatonProcess } from './operaton.ts';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const examplesDir = join(repositoryRoot, 'config/examples');

/** Process instances started at once while seeding the demo. */
const START_CONCURRENCY = 8;

export interface DemoOptions {
  instances: number;
  timeoutMs: number;
  /** Where the daemon's JSON log goes. */
  logFile: string;
  /** Writes progress here: a live line on a terminal, plain lines otherwise. */
  out: NodeJS.WritableStream;
  /** Writes the summary table to `out` at the end. @default true */
  printSummary?: boolean;
}

/** The demo's result, also written as JSON when DEMO_SUMMARY_JSON names a file. */
export interface DemoSummary {
  instancesStarted: number;
  instancesEnded: number;
  tasksCompleted: number;
  bpmnErrors: number;
  tasksFailed: number;
  tasksPerSecond: number;
  cacheHitRate: number;
  incidents: number;
  seconds: number;
  engineVersion: string;
}

/** Entry point of `bpmn-task-router demo`; returns the exit code. */
export async function runDemoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      instances: { type: 'string', default: '200' },
      timeout: { type: 'string', default: '600' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!existsSync(join(repositoryRoot, 'deploy/operaton/pom.xml'))) {
    // An installed package has no engine sources: the demo builds the engine with Maven from a clone.
    process.stderr.write(`demo: the bundled engine's sources (deploy/operaton) are not under ${repositoryRoot}; run the demo from a clone of the repository with npm run demo\n`);
    return 1;
  }
  const instances = Number(values.instances);
  const timeoutSeconds = Number(values.timeout);
  if (!Number.isInteger(instances) || instances < 1 || instances > 100_000) {
    process.stderr.write(`demo: --instances is ${JSON.stringify(values.instances)}; expected an integer from 1 to 100000\n`);
    return 2;
  }
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    process.stderr.write(`demo: --timeout is ${JSON.stringify(values.timeout)}; expected a number of seconds above 0\n`);
    return 2;
  }

  // With --json, standard output carries only the summary, so progress goes to standard error.
  const summary = await runDemo({
    instances,
    timeoutMs: timeoutSeconds * 1000,
    logFile: join(repositoryRoot, '.tmp/demo/daemon.log'),
    out: values.json ? process.stderr : process.stdout,
    printSummary: !values.json,
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  }

  const summaryFile = process.env.DEMO_SUMMARY_JSON;
  if (summaryFile !== undefined && summaryFile !== '') {
    mkdirSync(dirname(resolve(summaryFile)), { recursive: true });
    writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  }
  return summary.instancesEnded === summary.instancesStarted ? 0 : 1;
}

/** Runs the demo end to end; everything it starts is stopped before it returns or throws. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const progress = new Progress(options.out);
  const say = (line: string) => progress.message(line);
  let engine: OperatonProcess | undefined;
  let service: ExampleService | undefined;
  let daemon: Daemon | undefined;

  try {
    say('starting the bundled Operaton engine (first run builds it with Maven)...');
    engine = await startOperaton({ database: 'mem' });
    const engineVersion = await getEngineVersion(engine.restUrl);
    say(`engine ${engineVersion} at ${engine.restUrl}`);

    service = await startExampleService();
    say(`example service at ${service.url}`);

    const definitions = await deployBpmn(engine.restUrl, [
      join(examplesDir, 'order-process.bpmn'),
      join(examplesDir, 'ship-order.bpmn'),
    ], { deploymentName: 'bpmn-task-router demo' });
    say(`deployed ${definitions.map((definition) => `${definition.key} v${definition.version}`).join(', ')}`);

    const config = loadConfigFile(join(examplesDir, 'order-flow.yaml'), {
      ...process.env,
      ENGINE_URL: engine.restUrl,
      SERVICE_URL: service.url,
    });
    mkdirSync(dirname(options.logFile), { recursive: true });
    const logger = createLogger({ level: config.logging.level, destination: createWriteStream(options.logFile, { flags: 'a' }) });
    daemon = new Daemon({ config, logger });
    say(`daemon log: ${options.logFile}`);

    const started = Date.now();
    daemon.start();
    await startInstances(engine.restUrl, options.instances, (count) => {
      progress.update(`instances started ${count}/${options.instances}, ended 0/${options.instances}`);
    });

    const ended = await waitUntilEnded(engine.restUrl, options, daemon, started, progress);
    const seconds = (Date.now() - started) / 1000;
    const incidents = (await listIncidents(engine.restUrl, { processDefinitionKey: 'order-process' })).length;

    const metrics = daemon.orchestrator.getMetrics();
    const outcomes = metrics.orchestratorMetrics.tasksByOutcome;
    const summary: DemoSummary = {
      instancesStarted: options.instances,
      instancesEnded: ended,
      tasksCompleted: outcomes.complete,
      bpmnErrors: outcomes.bpmnError,
      tasksFailed: outcomes.failure,
      tasksPerSecond: round(metrics.orchestratorMetrics.tasksProcessed / seconds),
      // Every task looks up its activity's properties; only a miss there reads the definition cache.
      cacheHitRate: round(metrics.orchestratorMetrics.cacheHitRates.properties),
      incidents,
      seconds: round(seconds),
      engineVersion,
    };
    if (options.printSummary !== false) {
      printSummary(say, summary);
    }
    return summary;
  } finally {
    await daemon?.stop(10_000).catch(() => undefined);
    await service?.stop();
    await engine?.stop();
  }
}

/** Starts `count` order instances, calling `onStarted` with the number started so far after each one. */
async function startInstances(restUrl: string, count: number, onStarted: (started: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      const order = exampleOrder(next);
      next += 1;
      await startProcessInstance(restUrl, 'order-process', { businessKey: order.businessKey, variables: order.variables });
      done += 1;
      onStarted(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, count) }, worker));
}

/** Polls the engine until every started instance has ended, showing progress; returns how many ended. */
async function waitUntilEnded(restUrl: string, options: DemoOptions, daemon: Daemon, started: number, progress: Progress): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;

  for (;;) {
    const { finished } = await countProcessInstances(restUrl, 'order-process');
    const tasks = daemon.orchestrator.getMetrics().orchestratorMetrics.tasksProcessed;
    const elapsed = (Date.now() - started) / 1000;
    const line = `instances started ${options.instances}/${options.instances}, ended ${finished}/${options.instances}, tasks ${tasks} (${round(tasks / elapsed)}/s)`;

    if (finished >= options.instances) {
      progress.finish(line);
      return finished;
    }
    if (Date.now() > deadline) {
      progress.finish(line);
      progress.message(`timed out after ${options.timeoutMs / 1000} s with ${finished} of ${options.instances} instances ended; see the daemon log`);
      return finished;
    }
    progress.update(line);
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
  }
}

function printSummary(say: (line: string) => void, summary: DemoSummary): void {
  say('');
  say('summary');
  say(`  instances started    ${summary.instancesStarted}`);
  say(`  instances ended      ${summary.instancesEnded}`);
  say(`  tasks completed      ${summary.tasksCompleted}`);
  say(`  BPMN errors          ${summary.bpmnErrors}`);
  say(`  tasks failed         ${summary.tasksFailed}`);
  say(`  incidents            ${summary.incidents}`);
  say(`  tasks per second     ${summary.tasksPerSecond}`);
  say(`  cache hit rate       ${summary.cacheHitRate}`);
  say(`  duration             ${summary.seconds} s`);
}

function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 100) / 100 : 0;
}
