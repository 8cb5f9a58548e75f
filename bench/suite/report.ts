/** The suite's section of docs/benchmarks.md, rendered from the results file's contents. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const BEGIN = '<!-- benchmark suite: begin (written by npm run bench:suite) -->';
const END = '<!-- benchmark suite: end -->';

interface Goal {
  key: string;
  label: string;
  unit: string;
  goal: string;
  met: (value: number) => boolean;
}

const GOALS: readonly Goal[] = [
  { key: 'throughputRatioVsBareClient', label: 'Tasks per second, ours against the bare client worker', unit: 'x', goal: 'at least 1.0x', met: (value) => value >= 1 },
  { key: 'throughputRatioVsRawLoop', label: 'Tasks per second, ours against the raw REST loop', unit: 'x', goal: 'at least 0.9x', met: (value) => value >= 0.9 },
  { key: 'repeatedWorkflowsSpeedupVsNaive', label: 'Repeated five-task workflows, speed-up against the naive orchestrator', unit: 'x', goal: 'at least 10x', met: (value) => value >= 10 },
  { key: 'batchSpeedupVsNaive', label: 'Batch of 20 tasks, speed-up against the naive orchestrator', unit: 'x', goal: 'at least 5x', met: (value) => value >= 5 },
  { key: 'warmRouteP99Us', label: 'Warm routing per task, p99', unit: ' µs', goal: 'at most 2 µs', met: (value) => value <= 2 },
  { key: 'parseThroughputRatioVsXml2js', label: 'Parse throughput against xml2js', unit: 'x', goal: '—', met: () => true },
  { key: 'cpuPerTaskRatioVsBareUndici', label: 'CPU per task against a bare undici loop', unit: 'x', goal: 'at most 1.5x', met: (value) => value <= 1.5 },
  { key: 'rssMbWith10kDefinitions', label: 'RSS with 10,000 cached definitions', unit: ' MB', goal: 'at most 200 MB', met: (value) => value <= 200 },
  { key: 'soakRssGrowthPercent', label: 'RSS growth over the soak', unit: ' %', goal: 'at most 10 %', met: (value) => value <= 10 },
];

const SCENARIO_LABELS: Record<string, string> = {
  singleTask: 'single task (one instance, median of the repeats)',
  fiveTaskWorkflow: 'five-task workflow (one instance, median of the repeats)',
  repeatedWorkflows: 'repeated five-task workflows, started together',
  batch: 'batch of 20 tasks, released by one signal',
  largeBpmn: 'large BPMN, new version, instances started together',
};

type Results = Record<string, unknown> & { details: Record<string, unknown> };

export function renderSection(results: Results): string {
  const details = results.details as {
    size: string;
    command: string;
    startedAt: string;
    machine: { cpu: string; logicalCpus: number; memoryGiB: number; kernel: string; loadAverage1mAtStart: number; loadAverage1mAtEnd: number };
    versions: Record<string, string>;
    scenarios: { method: Record<string, number | string>; medianMs: Record<string, Record<string, number>> };
    throughput: { tasksPerSecond: Record<string, number>; roundsTasksPerSecond: Record<string, number[]> };
    warmRoute: { samples: number; p50Us: number; p99Us: number };
    definitions: { source: string; definitionsCached: number };
    soak: { durationMinutes: number; ratePerSecond: number; form: string; baselineRssMb: number; endRssMb: number; samples: unknown[] };
  };
  const { machine, versions, scenarios, throughput, soak } = details;
  const method = scenarios.method;
  const lines: string[] = [
    BEGIN,
    '## Suite',
    '',
    'One command runs every comparison below in one run and writes',
    '`bench/results/suite.json`; this section is generated from it.',
    '',
    '```',
    details.command,
    '```',
    '',
    `Run of ${details.startedAt.slice(0, 10)} (${details.size} size) on a ${machine.logicalCpus}-vCPU ${machine.cpu} machine ` +
      `(${machine.memoryGiB} GiB RAM, Linux ${machine.kernel}). ` +
      `${Object.entries(versions).map(([name, version]) => `${name} ${version}`).join(', ')}.`,
    '',
    `The machine is shared with other jobs: the 1-minute load average was ${machine.loadAverage1mAtStart} at the start ` +
      `and ${machine.loadAverage1mAtEnd} at the end. The engine, the downstream service and the orchestrators share its cores, ` +
      'so absolute figures are noisy; the orchestrators run in turns in every round, which keeps the ratios comparable.',
    '',
    '| Figure | Measured | Goal | Met |',
    '| --- | ---: | --- | --- |',
    ...GOALS.map((goal) => {
      const value = results[goal.key] as number;
      return `| ${goal.label} (\`${goal.key}\`) | ${value}${goal.unit} | ${goal.goal} | ${goal.goal === '—' ? '—' : goal.met(value) ? 'yes' : 'no'} |`;
    }),
    '',
    '### Scenarios',
    '',
    `Each orchestrator subscribes to its own topics and calls the same downstream service, which answers after ${method.serviceDelayMs} ms, ` +
      'and completes each task with the service\'s variables. Ours is the Daemon; the naive orchestrator (`bench/suite/workers.ts`) ' +
      'has no cache, fetches and parses the definition XML with xml2js for every task, opens a new connection for every call, and handles ' +
      'one task at a time; the bare client is a camunda-external-task-client-js worker whose handler makes the same call with undici. ' +
      'All fetch up to 50 tasks with long polling (the naive one 10). ' +
      `Times run from the first instance start (or the signal) until the last task is completed; ${method.rounds} rounds, medians.`,
    '',
    '| Scenario | ours | naive | bare client | naive / ours | bare client / ours |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(scenarios.medianMs).map(([name, row]) => {
      const ours = row.ours as number;
      return `| ${SCENARIO_LABELS[name] ?? name} | ${ours} ms | ${row.naive} ms | ${row.bareClient} ms | ${(Number(row.naive) / ours).toFixed(2)} | ${(Number(row.bareClient) / ours).toFixed(2)} |`;
    }),
    '',
    `Sizes: ${method.repeats} repeats of the single-task and five-task scenarios, ${method.repeatedInstances} workflow instances in the repeated scenario, ` +
      `${method.largeInstances} instances of the large BPMN (about 700 kB, a new version per run, so no cache has it).`,
    '',
    '### Throughput on the engine',
    '',
    `${method.throughputTasks} single-task instances are started before the worker, which then drains them; tasks per second, ` +
      `median of ${method.rounds} rounds in turns. The raw loop fetches and completes with undici and makes no service call.`,
    '',
    '| Worker | tasks/s | rounds |',
    '| --- | ---: | --- |',
    ...Object.entries(throughput.tasksPerSecond).map(([name, rate]) => `| ${name} | ${rate} | ${(throughput.roundsTasksPerSecond[name] ?? []).join(', ')} |`),
    '',
    '### Microbenchmarks and memory',
    '',
    `- Warm routing: \`ServiceOrchestrator.resolveRoute\` on a cached definition, timed one call at a time, ${details.warmRoute.samples} calls: ` +
      `p50 ${details.warmRoute.p50Us} µs, p99 ${details.warmRoute.p99Us} µs.`,
    '- CPU per task: from `bench/dispatch.ts` in the same run (see Dispatch above for its method).',
    `- Parse throughput and RSS: ${details.definitions.source} (${details.definitions.definitionsCached} definitions cached).`,
    `- Soak: the daemon as its own process (${soak.form}) for ${soak.durationMinutes} minutes at ${soak.ratePerSecond} instances per second, ` +
      `RSS sampled ${soak.samples.length} times: ${soak.baselineRssMb} MB in the second tenth of the run, ${soak.endRssMb} MB in the last tenth.`,
    END,
  ];
  return `${lines.join('\n')}\n`;
}

/** Replaces the suite section of `file`, or appends it when the file has none. */
export function replaceSection(file: string, section: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin >= 0 && end > begin) {
    writeFileSync(file, `${text.slice(0, begin)}${section}${text.slice(end + END.length + 1)}`);
  } else {
    writeFileSync(file, `${text}${text === '' || text.endsWith('\n\n') ? '' : '\n'}${section}`);
  }
}
