/**
 * The benchmark suite: the five scenarios and engine throughput on the real
 * Operaton engine, the microbenchmarks, RSS with 10,000 cached definitions
 * and a soak, in one run. It writes bench/results/suite.json and its section
 * of docs/benchmarks.md, and reports progress on stderr.
 *
 * Run: npm run bench:suite
 *      npm run bench:suite -- --size small --soak-minutes 1   (a short run)
 *
 * Options:
 *   --size full|small     full (default) is the published run; small runs every part briefly
 *   --soak-minutes N      length of the soak (30 by default, 0.5 with --size small)
 *   --engine-url URL      use a running engine instead of starting the bundled one
 *   --out FILE            results file (bench/results/suite.json)
 *   --docs FILE           Markdown file whose suite section is replaced (docs/benchmarks.md)
 *   --cpu-prof DIR        write a V8 CPU profile of the soak's daemon into DIR
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { getEngineVersion } from '../src/demo/engine-rest.ts';
import { startOperaton, type OperatonProcess } from '../src/demo/operaton.ts';
import { runEngineScenarios } from './suite/engine-scenarios.ts';
import { measureWarmRoute, runDefinitionsBenchmark, runDefinitionsShort, runDispatchBenchmark } from './suite/micro.ts';
import { renderSection, replaceSection } from './suite/report.ts';
import { runSoak } from './suite/soak.ts';
import { round, type SuiteSize } from './suite/stats.ts';
import { machineFacts } from './support/machine.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function packageVersion(name: string): string {
  const file = name === '.' ? join(ROOT, 'package.json') : join(ROOT, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: 'full' },
      'soak-minutes': { type: 'string' },
      'engine-url': { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'bench', 'results', 'suite.json') },
      docs: { type: 'string', default: join(ROOT, 'docs', 'benchmarks.md') },
      'cpu-prof': { type: 'string' },
    },
  });
  if (values.size !== 'full' && values.size !== 'small') {
    throw new Error(`--size is "${values.size}"; expected full or small`);
  }
  const size: SuiteSize = values.size;
  const soakMinutes = Number(values['soak-minutes'] ?? (size === 'full' ? 30 : 0.5));
  if (!Number.isFinite(soakMinutes) || soakMinutes <= 0) {
    throw new Error(`--soak-minutes is "${values['soak-minutes']}"; expected a positive number of minutes`);
  }
  return {
    size,
    soakMinutes,
    engineUrl: values['engine-url'],
    out: resolve(values.out),
    docs: resolve(values.docs),
    cpuProfileDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const runId = randomBytes(3).toString('hex');
  const workDir = join(ROOT, '.tmp', 'bench-suite', runId);
  mkdirSync(workDir, { recursive: true });
  const loadAtStart = loadavg()[0] ?? 0;
  const startedAt = new Date();

  let engine: OperatonProcess | undefined;
  let engineUrl = options.engineUrl;
  if (engineUrl === undefined) {
    progress('engine: starting the bundled Operaton engine (in-memory H2)');
    engine = await startOperaton({ database: 'mem' });
    engineUrl = engine.restUrl;
  }

  try {
    const engineVersion = await getEngineVersion(engineUrl);
    progress(`engine: Operaton ${engineVersion} at ${engineUrl}`);

    const engineResults = await runEngineScenarios({ engineUrl, size: options.size, runId, progress });

    progress('micro: warm routing');
    const warmRoute = await measureWarmRoute(options.size);
    progress(`micro: warm routing p50 ${warmRoute.p50Us} us, p99 ${warmRoute.p99Us} us`);

    progress('micro: CPU per task against a bare undici loop (bench/dispatch.ts)');
    const dispatch = await runDispatchBenchmark(options.size, join(workDir, 'dispatch.json'));

    let definitions: { parseThroughputRatioVsXml2js: number; rssMbWith10kDefinitions: number; source: string; definitionsCached: number };
    if (options.size === 'full') {
      progress('micro: parse throughput and RSS with 10,000 definitions (bench/definitions.ts, about two minutes)');
      const full = await runDefinitionsBenchmark(join(workDir, 'definitions.json')) as { parseThroughputRatioVsXml2js: number; rssMbWith10kDefinitions: number; rss: { definitionsCached: number } };
      definitions = { parseThroughputRatioVsXml2js: full.parseThroughputRatioVsXml2js, rssMbWith10kDefinitions: full.rssMbWith10kDefinitions, source: 'bench/definitions.ts', definitionsCached: full.rss.definitionsCached };
    } else {
      progress('micro: short parse comparison and RSS with 500 definitions');
      const short = await runDefinitionsShort(500);
      definitions = { parseThroughputRatioVsXml2js: short.parseThroughputRatioVsXml2js, rssMbWith10kDefinitions: short.rssMb, source: 'short run: the large BPMN, 5 samples; RSS with 500 definitions from the TypeScript sources', definitionsCached: short.definitions };
    }

    progress(`soak: ${options.soakMinutes} minutes`);
    const soak = await runSoak({
      engineUrl,
      runId,
      durationMs: options.soakMinutes * 60_000,
      sampleIntervalMs: Math.max(1_000, Math.min(10_000, (options.soakMinutes * 60_000) / 60)),
      compiled: options.size === 'full',
      cpuProfileDir: options.cpuProfileDir,
      workDir,
      progress,
    });

    const { scenarios, throughput } = engineResults;
    const command = `npm run bench:suite${process.argv.slice(2).length > 0 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    const results = {
      repeatedWorkflowsSpeedupVsNaive: round(scenarios.repeatedWorkflows.naive / scenarios.repeatedWorkflows.ours, 2),
      batchSpeedupVsNaive: round(scenarios.batch.naive / scenarios.batch.ours, 2),
      throughputRatioVsBareClient: round(throughput.ours / throughput.bareClient, 2),
      throughputRatioVsRawLoop: round(throughput.ours / throughput.rawLoop, 2),
      warmRouteP99Us: warmRoute.p99Us,
      parseThroughputRatioVsXml2js: definitions.parseThroughputRatioVsXml2js,
      cpuPerTaskRatioVsBareUndici: dispatch.cpuPerTaskRatioVsBareUndici as number,
      rssMbWith10kDefinitions: definitions.rssMbWith10kDefinitions,
      soakRssGrowthPercent: soak.growthPercent,
      details: {
        size: options.size,
        command,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        machine: machineFacts(loadAtStart),
        versions: {
          node: process.version,
          engine: `Operaton ${engineVersion}`,
          'bpmn-task-router': packageVersion('.'),
          'camunda-external-task-client-js': packageVersion('camunda-external-task-client-js'),
          undici: packageVersion('undici'),
          xml2js: packageVersion('xml2js'),
        },
        scenarios: { method: engineResults.method, medianMs: scenarios, roundsMs: engineResults.scenarioRounds },
        throughput: { tasksPerSecond: throughput, roundsTasksPerSecond: engineResults.throughputRounds },
        warmRoute,
        dispatch,
        definitions,
        soak,
      },
    };

    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
    progress(`wrote ${options.out}`);
    replaceSection(options.docs, renderSection(results));
    progress(`wrote the suite section of ${options.docs}`);
  } finally {
    await engine?.stop();
  }
}

await main();
