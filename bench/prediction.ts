/**
 * Next-task prediction on real process models, against the best possible.
 *
 * Every well-formed process of the BPMN corpus with at least two task
 * activities becomes a workload: its gateways get branch probabilities
 * drawn once from a seeded source, and bench/support/process-simulator.ts
 * runs instances of it as tokens. Two parts use the same workloads:
 *
 * - Accuracy. The best possible predictor is given the current task's
 *   activity, which is what the daemon has when it predicts. It counts the
 *   workload's own transition frequencies over a large reference sample, and
 *   after activity A it predicts the activity that most often follows A.
 *   Our `SequenceModel` learns from 10, 100 and 1,000 training instances.
 *   Both predict the transitions of the same test instances, and the ratio
 *   is ours over the best.
 * - Prefetching and preloading. A timeline of instances with random start
 *   times runs through the real `PredictionService` and
 *   `DefinitionPreloader`, over simulated caches in virtual time. New
 *   versions of every process are deployed during it, and the preloader
 *   polls at the default interval.
 *
 * Run: npm run bench:prediction (writes bench/results/prediction.json and
 * the prediction section of docs/benchmarks.md). Skipped, with a message,
 * when the corpus is absent.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { parseConfig } from '../src/config/load.ts';
import { parseDefinition } from '../src/definitions/bpmn-extractor.ts';
import type { Activity, DefinitionModel } from '../src/definitions/model.ts';
import type { DefinitionVersion } from '../src/engine/types.ts';
import { ProcessGraph, START } from '../src/prediction/graph.ts';
import { DefinitionPreloader } from '../src/prediction/preloader.ts';
import { SequenceModel } from '../src/prediction/sequence-model.ts';
import { PredictionService, type PreparationTarget } from '../src/prediction/service.ts';
import { silentLogger } from '../src/telemetry/logger.ts';
import { TelemetryRecorder } from '../src/telemetry/recorder.ts';
import { ProcessWorkload, seededRandom, TASK_TYPES } from './support/process-simulator.ts';
import { CORPUS_CANDIDATES, findCorpus } from './support/corpus.ts';
import { machineFacts } from './support/machine.ts';

const SEED = 20_261_205;
/** Instances per workload counted for the best possible predictor. */
const REFERENCE_INSTANCES = 10_000;
/** Training instances after which our model is evaluated. */
const CHECKPOINTS = [10, 100, 1_000] as const;
/** Instances per workload whose transitions both predictors predict. */
const TEST_INSTANCES = 1_000;
/** Instances per workload on the prefetching timeline. */
const TIMELINE_INSTANCES = 300;
/** New versions of each process deployed during the timeline. */
const NEW_VERSIONS = 3;
/** Mean pause between two instance starts of one process: drawn per workload, log-uniform in this range. */
const INSTANCE_GAP_MS = { min: 10_000, max: 600_000 } as const;
/** Mean pause between two tasks of one instance (exponential). */
const TASK_GAP_MS = 5_000;
/** Assumed duration of one engine REST call on a local network. */
const ENGINE_CALL_MS = 5;
/** Workloads where instances start this often or more count as busy in the preload breakdown. */
const BUSY_GAP_MS = 60_000;
/** Byte bound of the model in the memory check, and how many definitions are fed to it. */
const MEMORY_CHECK_BYTES = 16 * 1024 * 1024;
const MEMORY_CHECK_DEFINITIONS = 6_000;
/** Instances learned per definition in the memory check. */
const MEMORY_CHECK_INSTANCES = 20;

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RESULTS_FILE = join(BENCH_DIR, 'results', 'prediction.json');
const DOCS_FILE = join(BENCH_DIR, '..', 'docs', 'benchmarks.md');

/** The daemon's defaults, from an empty prediction section. */
const DEFAULTS = parseConfig('engine: { baseUrl: http://127.0.0.1:8080/engine-rest }\ntopics: [{ topic: unused }]\n', { env: {} }).prediction;

const isTask = (activity: Activity): boolean => TASK_TYPES.has(activity.type);

interface Workload {
  /** Corpus file and process id. */
  name: string;
  /** A model holding only this process, renamed to a unique key. */
  model: DefinitionModel;
  key: string;
  simulator: ProcessWorkload;
  /** Milliseconds to parse the file's XML, measured once. */
  parseMs: number;
  hasChoices: boolean;
}

// ---------------------------------------------------------------------------
// Workloads from the corpus.

/** Parses MANIFEST.csv: a header line, then one row per file; fields may be quoted. */
function readManifest(corpus: string): Record<string, string>[] {
  const lines = readFileSync(join(corpus, 'MANIFEST.csv'), 'utf8').split(/\r?\n/).filter((line) => line !== '');
  const header = splitCsvLine(lines[0] ?? '');
  return lines.slice(1).map((line) => {
    const fields = splitCsvLine(line);
    return Object.fromEntries(header.map((name, position) => [name, fields[position] ?? '']));
  });
}

function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let position = 0; position < line.length; position += 1) {
    const char = line[position] as string;
    if (quoted) {
      if (char === '"' && line[position + 1] === '"') {
        field += '"';
        position += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      fields.push(field);
      field = '';
    } else {
      field += char;
    }
  }
  fields.push(field);
  return fields;
}

/** Returns a copy of the model with only one process, renamed to `key`. */
function singleProcessModel(model: DefinitionModel, processId: string, key: string): DefinitionModel {
  const process = model.processes.find((candidate) => candidate.id === processId);
  const activities = new Map<string, Activity>();
  for (const activity of model.activities.values()) {
    if (activity.processId === processId) {
      activities.set(activity.id, { ...activity, processId: key });
    }
  }
  return { ...model, processes: process === undefined ? [] : [{ ...process, id: key }], activities };
}

function hash(text: string): number {
  let value = 2_166_136_261;
  for (let position = 0; position < text.length; position += 1) {
    value = Math.imul(value ^ text.charCodeAt(position), 16_777_619);
  }
  return value >>> 0;
}

function loadWorkloads(corpus: string): { workloads: Workload[]; files: number } {
  const rows = readManifest(corpus).filter((row) => row.well_formed === '1');
  const workloads: Workload[] = [];
  let files = 0;
  for (const row of rows) {
    const file = row.file as string;
    const bytes = readFileSync(join(corpus, file));
    let model: DefinitionModel;
    const started = performance.now();
    try {
      model = parseDefinition(bytes);
    } catch {
      continue;
    }
    const parseMs = performance.now() - started;
    files += 1;

    for (const process of model.processes) {
      const tasks = [...model.activities.values()].filter((activity) => activity.processId === process.id && isTask(activity));
      if (tasks.length < 2) {
        continue;
      }
      const key = `process${workloads.length}`;
      const single = singleProcessModel(model, process.id, key);
      const simulator = new ProcessWorkload(single, key, seededRandom(hash(`${SEED}:${file}:${process.id}`)));
      const probe = seededRandom(hash(`probe:${file}:${process.id}`));
      let transitions = 0;
      for (let run = 0; run < 50; run += 1) {
        transitions += Math.max(0, simulator.run(probe).length - 1);
      }
      if (transitions < 50) {
        continue;
      }
      workloads.push({
        name: `${file}#${process.id}`,
        model: single,
        key,
        simulator,
        parseMs,
        hasChoices: simulator.branchProbabilities.size > 0 || simulator.boundaryChances.size > 0,
      });
    }
  }
  return { workloads, files };
}

// ---------------------------------------------------------------------------
// Accuracy against the best possible predictor.

interface Tally {
  transitions: number;
  oursTop1: number;
  oursTop3: number;
  bestTop1: number;
  bestTop3: number;
}

const emptyTally = (): Tally => ({ transitions: 0, oursTop1: 0, oursTop3: 0, bestTop1: 0, bestTop3: 0 });

function addTally(into: Tally, from: Tally): void {
  into.transitions += from.transitions;
  into.oursTop1 += from.oursTop1;
  into.oursTop3 += from.oursTop3;
  into.bestTop1 += from.bestTop1;
  into.bestTop3 += from.bestTop3;
}

/** Returns the best predictor: after each activity, the three activities that most often follow it in the reference sample. */
function bestPredictor(workload: Workload, random: () => number): Map<string, string[]> {
  const counts = new Map<string, Map<string, number>>();
  for (let run = 0; run < REFERENCE_INSTANCES; run += 1) {
    const arrivals = workload.simulator.run(random);
    for (let step = 1; step < arrivals.length; step += 1) {
      const row = counts.get(arrivals[step - 1] as string) ?? new Map<string, number>();
      row.set(arrivals[step] as string, (row.get(arrivals[step] as string) ?? 0) + 1);
      counts.set(arrivals[step - 1] as string, row);
    }
  }
  const best = new Map<string, string[]>();
  for (const [from, row] of counts) {
    best.set(from, [...row].sort((left, right) => right[1] - left[1] || (left[0] < right[0] ? -1 : 1)).slice(0, 3).map(([to]) => to));
  }
  return best;
}

interface AccuracyResult {
  tallies: Map<number, Tally>;
  perWorkloadRatioAt100: number[];
  predictionsOutsideGraph: number;
  transitionsNotAllowed: number;
}

function measureAccuracy(workloads: readonly Workload[]): AccuracyResult {
  const model = new SequenceModel({ maxDefinitions: workloads.length, maxBytesPerDefinition: DEFAULTS.maxBytesPerDefinition, maxBytes: Number.MAX_SAFE_INTEGER });
  const tallies = new Map<number, Tally>(CHECKPOINTS.map((checkpoint) => [checkpoint, emptyTally()]));
  const perWorkloadRatioAt100: number[] = [];
  let outside = 0;

  workloads.forEach((workload, index) => {
    const definitionId = `accuracy:${index}`;
    const graph = ProcessGraph.fromModel(workload.model, { processId: workload.key, isObserved: isTask, maxConcurrencyBytes: DEFAULTS.maxBytesPerDefinition / 2 });
    model.add(definitionId, graph, workload.key);
    const best = bestPredictor(workload, seededRandom(hash(`reference:${workload.name}`)));
    const training = seededRandom(hash(`training:${workload.name}`));
    const testRandom = seededRandom(hash(`test:${workload.name}`));
    const tests = Array.from({ length: TEST_INSTANCES }, () => workload.simulator.run(testRandom));

    let trained = 0;
    for (const checkpoint of CHECKPOINTS) {
      for (; trained < checkpoint; trained += 1) {
        const arrivals = workload.simulator.run(training);
        arrivals.forEach((activityId, step) => model.observe(definitionId, step === 0 ? undefined : arrivals[step - 1], activityId));
      }

      const tally = emptyTally();
      for (const arrivals of tests) {
        for (let step = 1; step < arrivals.length; step += 1) {
          const from = arrivals[step - 1] as string;
          const to = arrivals[step] as string;
          const ours = model.predict(definitionId, from, 3).map((prediction) => prediction.activityId);
          const allowed = graph.prior(graph.indexOf(from) ?? START).successors.map((successor) => graph.ids[successor.index]);
          outside += ours.filter((activityId) => !allowed.includes(activityId)).length;
          const bestList = best.get(from) ?? [];
          tally.transitions += 1;
          tally.oursTop1 += ours[0] === to ? 1 : 0;
          tally.oursTop3 += ours.includes(to) ? 1 : 0;
          tally.bestTop1 += bestList[0] === to ? 1 : 0;
          tally.bestTop3 += bestList.includes(to) ? 1 : 0;
        }
      }
      addTally(tallies.get(checkpoint) as Tally, tally);
      if (checkpoint === 100 && tally.bestTop1 > 0) {
        perWorkloadRatioAt100.push(tally.oursTop1 / tally.bestTop1);
      }
    }
  });
  return { tallies, perWorkloadRatioAt100, predictionsOutsideGraph: outside, transitionsNotAllowed: model.stats().transitionsNotAllowed };
}

// ---------------------------------------------------------------------------
// Prefetching and preloading in virtual time.

/** The daemon's caches in virtual time: each entry becomes ready at a time. */
class SimulatedCaches implements PreparationTarget {
  readonly #clock: { now(): number };
  readonly #definitions = new Map<string, number>();
  readonly #activities = new Map<string, number>();
  readonly #models = new Map<string, { model: DefinitionModel; loadMs: number }>();
  fetches = 0;

  constructor(clock: { now(): number }) {
    this.#clock = clock;
  }

  register(definitionId: string, model: DefinitionModel, loadMs: number): void {
    this.#models.set(definitionId, { model, loadMs });
  }

  isActivityPrepared(definitionId: string, activityId: string): boolean {
    return (this.#activities.get(`${definitionId}:${activityId}`) ?? Number.POSITIVE_INFINITY) <= this.#clock.now();
  }

  isDefinitionLoaded(definitionId: string): boolean {
    return (this.#definitions.get(definitionId) ?? Number.POSITIVE_INFINITY) <= this.#clock.now();
  }

  async prepareActivity(definitionId: string, activityId: string): Promise<void> {
    const ready = this.#load(definitionId);
    this.#activities.set(`${definitionId}:${activityId}`, Math.max(ready, this.#clock.now()));
  }

  async loadDefinition(definitionId: string): Promise<DefinitionModel> {
    this.#load(definitionId);
    return (this.#models.get(definitionId) as { model: DefinitionModel }).model;
  }

  latestDefinitionId(processKey: string): Promise<string> {
    return Promise.reject(new Error(`called process ${processKey} is not simulated`));
  }

  /** Routes a task as the orchestrator does: its activity's entry is cached once the definition is there. */
  route(definitionId: string, activityId: string): void {
    this.prepareActivity(definitionId, activityId).catch(() => undefined);
  }

  /** Loads a definition unless loaded or loading; returns when it is ready. */
  #load(definitionId: string): number {
    const known = this.#definitions.get(definitionId);
    if (known !== undefined) {
      return known;
    }
    this.fetches += 1;
    const ready = this.#clock.now() + (this.#models.get(definitionId)?.loadMs ?? 0);
    this.#definitions.set(definitionId, ready);
    return ready;
  }
}

interface TimelineEvent {
  at: number;
  kind: 'task' | 'poll';
  workload: number;
  definitionId: string;
  activityId: string;
  instanceId: string;
  taskId: string;
  /** True for the first task of a version deployed during the timeline. */
  firstOfNewVersion: boolean;
}

interface PrefetchResult {
  snapshot: ReturnType<TelemetryRecorder['snapshot']>;
  preload: { hits: number; firsts: number; busyHits: number; busyFirsts: number; quietHits: number; quietFirsts: number };
  fetches: number;
  modelBytes: number;
}

async function measurePrefetching(workloads: readonly Workload[]): Promise<PrefetchResult> {
  let now = 0;
  const clock = { now: () => now };
  const caches = new SimulatedCaches(clock);
  const recorder = new TelemetryRecorder();
  const service = new PredictionService({ options: DEFAULTS, target: caches, isObserved: isTask, recorder, clock });
  const deployments = new Map<string, { at: number; definitionId: string; version: number }[]>();
  const preloader = new DefinitionPreloader({
    listLatest: async (keys): Promise<DefinitionVersion[]> => keys.flatMap((key) => {
      const deployed = (deployments.get(key) ?? []).filter((deployment) => deployment.at <= now);
      const latest = deployed.at(-1);
      return latest === undefined ? [] : [{ processKey: key, definitionId: latest.definitionId, version: latest.version, tenantId: undefined }];
    }),
    preload: async (version) => {
      await service.prefetchDefinition(version.definitionId);
      await service.prefetchCommonActivities(version.definitionId, version.processKey);
    },
    intervalMs: DEFAULTS.preloadIntervalMs,
    processKeys: [],
    maxKeys: DEFAULTS.maxDefinitions,
    logger: silentLogger(),
  });

  const random = seededRandom(hash(`timeline:${SEED}`));
  const pollPhase = random() * DEFAULTS.preloadIntervalMs;
  const events: TimelineEvent[] = [];
  const gaps = new Map<number, number>();

  workloads.forEach((workload, index) => {
    const gap = Math.exp(Math.log(INSTANCE_GAP_MS.min) + random() * Math.log(INSTANCE_GAP_MS.max / INSTANCE_GAP_MS.min));
    gaps.set(index, gap);
    const span = gap * TIMELINE_INSTANCES;
    const versions = [{ at: 0, definitionId: `${workload.key}:1`, version: 1 }];
    const deployTimes = Array.from({ length: NEW_VERSIONS }, () => span * (0.1 + 0.8 * random())).sort((left, right) => left - right);
    deployTimes.forEach((at, position) => versions.push({ at, definitionId: `${workload.key}:${position + 2}`, version: position + 2 }));
    deployments.set(workload.key, versions);
    const loadMs = ENGINE_CALL_MS + workload.parseMs;
    for (const version of versions) {
      caches.register(version.definitionId, workload.model, loadMs);
      if (version.version > 1) {
        const firstPoll = pollPhase + Math.ceil((version.at - pollPhase) / DEFAULTS.preloadIntervalMs) * DEFAULTS.preloadIntervalMs;
        events.push({ at: firstPoll + ENGINE_CALL_MS, kind: 'poll', workload: index, definitionId: version.definitionId, activityId: '', instanceId: '', taskId: '', firstOfNewVersion: false });
      }
    }

    const firstSeen = new Set<string>();
    let start = 0;
    for (let instance = 0; instance < TIMELINE_INSTANCES; instance += 1) {
      start += -Math.log(1 - random()) * gap;
      const version = versions.filter((candidate) => candidate.at <= start).at(-1) as { definitionId: string; version: number };
      let at = start;
      workload.simulator.run(random).forEach((activityId, step) => {
        if (step > 0) {
          at += -Math.log(1 - random()) * TASK_GAP_MS;
        }
        events.push({
          at,
          kind: 'task',
          workload: index,
          definitionId: version.definitionId,
          activityId,
          instanceId: `${workload.key}:i${instance}`,
          taskId: `${workload.key}:i${instance}:t${step}`,
          firstOfNewVersion: false,
        });
      });
    }
    // The first task of a version is the earliest one in time, which need not be of the first instance started.
    const byTime = events.filter((event) => event.kind === 'task' && event.workload === index).sort((left, right) => left.at - right.at);
    for (const event of byTime) {
      if (!firstSeen.has(event.definitionId)) {
        firstSeen.add(event.definitionId);
        event.firstOfNewVersion = !event.definitionId.endsWith(':1');
      }
    }
  });
  events.sort((left, right) => left.at - right.at);

  const preload = { hits: 0, firsts: 0, busyHits: 0, busyFirsts: 0, quietHits: 0, quietFirsts: 0 };
  for (const event of events) {
    now = event.at;
    if (event.kind === 'poll') {
      await preloader.pollOnce();
      continue;
    }
    const workload = workloads[event.workload] as Workload;
    const task = { id: event.taskId, activityId: event.activityId, processInstanceId: event.instanceId, processDefinitionId: event.definitionId, processDefinitionKey: workload.key };
    if (event.firstOfNewVersion) {
      const hit = caches.isDefinitionLoaded(event.definitionId) ? 1 : 0;
      const busy = (gaps.get(event.workload) as number) < BUSY_GAP_MS;
      preload.firsts += 1;
      preload.hits += hit;
      preload[busy ? 'busyFirsts' : 'quietFirsts'] += 1;
      preload[busy ? 'busyHits' : 'quietHits'] += hit;
    }
    preloader.watch(workload.key, event.definitionId);
    service.taskArriving(task);
    caches.route(event.definitionId, event.activityId);
    await service.taskRouted(task);
  }

  now += DEFAULTS.prefetchWindowMs + 1;
  service.sweep();
  const modelBytes = service.stats().model.bytes;
  await service.close();
  return { snapshot: recorder.snapshot(), preload, fetches: caches.fetches, modelBytes };
}

// ---------------------------------------------------------------------------
// Memory of the model against its estimate.

interface MemoryResult {
  definitionsFed: number;
  definitionsHeld: number;
  maxBytes: number;
  estimatedBytes: number;
  heapBytes: number;
}

/**
 * Feeds many definitions with counts to a model bounded to
 * {@link MEMORY_CHECK_BYTES} and measures the heap it keeps after a full
 * garbage collection, against its own estimate. Needs `--expose-gc`.
 */
function measureMemory(workloads: readonly Workload[]): MemoryResult | undefined {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) {
    console.log('memory check skipped: run node with --expose-gc (npm run bench:prediction does)');
    return undefined;
  }
  const random = seededRandom(hash(`memory:${SEED}`));
  const runs = workloads.map((workload) => Array.from({ length: MEMORY_CHECK_INSTANCES }, () => workload.simulator.run(random)));

  collect();
  const before = process.memoryUsage().heapUsed;
  const model = new SequenceModel({ maxDefinitions: MEMORY_CHECK_DEFINITIONS, maxBytesPerDefinition: DEFAULTS.maxBytesPerDefinition, maxBytes: MEMORY_CHECK_BYTES });
  for (let definition = 0; definition < MEMORY_CHECK_DEFINITIONS; definition += 1) {
    const workload = workloads[definition % workloads.length] as Workload;
    const id = `memory:${definition}`;
    model.add(id, ProcessGraph.fromModel(workload.model, { processId: workload.key, isObserved: isTask, maxConcurrencyBytes: DEFAULTS.maxBytesPerDefinition / 2 }), workload.key);
    for (const arrivals of runs[definition % workloads.length] as string[][]) {
      arrivals.forEach((activityId, step) => model.observe(id, step === 0 ? undefined : arrivals[step - 1], activityId));
      arrivals.forEach((activityId) => model.predict(id, activityId, 3));
    }
  }
  collect();
  const heapBytes = process.memoryUsage().heapUsed - before;
  const stats = model.stats();
  return { definitionsFed: MEMORY_CHECK_DEFINITIONS, definitionsHeld: stats.definitions, maxBytes: MEMORY_CHECK_BYTES, estimatedBytes: stats.bytes, heapBytes };
}

// ---------------------------------------------------------------------------
// Report.

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

function quantile(values: readonly number[], share: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const corpus = findCorpus();
  if (corpus === undefined) {
    console.log(`bench:prediction skipped: no BPMN corpus (MANIFEST.csv) in ${CORPUS_CANDIDATES.join(' or ')}; set BPMN_CORPUS_DIR to its folder`);
    return;
  }

  const loadAtStart = loadavg()[0] as number;
  const started = performance.now();
  const { workloads, files } = loadWorkloads(corpus);
  console.log(`${workloads.length} workloads from ${files} corpus files`);
  const accuracy = measureAccuracy(workloads);
  console.log(`accuracy done after ${Math.round((performance.now() - started) / 1000)} s`);
  const prefetching = await measurePrefetching(workloads);
  const memory = measureMemory(workloads);

  const at = (checkpoint: number) => accuracy.tallies.get(checkpoint) as Tally;
  const accuracyFigures = Object.fromEntries(CHECKPOINTS.map((checkpoint) => {
    const tally = at(checkpoint);
    return [`after${checkpoint}`, {
      transitions: tally.transitions,
      oursTop1: round(tally.oursTop1 / tally.transitions),
      bestTop1: round(tally.bestTop1 / tally.transitions),
      oursTop3: round(tally.oursTop3 / tally.transitions),
      bestTop3: round(tally.bestTop3 / tally.transitions),
      top1RatioToOptimal: round(tally.oursTop1 / tally.bestTop1),
      top3RatioToOptimal: round(tally.oursTop3 / tally.bestTop3),
    }];
  }));
  const { snapshot, preload } = prefetching;
  const results = {
    generatedAt: new Date().toISOString(),
    command: 'npm run bench:prediction',
    machine: machineFacts(loadAtStart),
    node: process.version,
    durationSeconds: Math.round((performance.now() - started) / 1000),
    accuracyRatioToOptimalAt10: round(at(10).oursTop1 / at(10).bestTop1),
    accuracyRatioToOptimalAt100: round(at(100).oursTop1 / at(100).bestTop1),
    accuracyRatioToOptimalAt1000: round(at(1_000).oursTop1 / at(1_000).bestTop1),
    preloadHitRate: round(preload.hits / preload.firsts),
    unusedPrefetchShare: round(snapshot.unusedPrefetchShare ?? 0),
    goals: {
      accuracyRatioToOptimalAt100: { atLeast: 0.98, met: at(100).oursTop1 / at(100).bestTop1 >= 0.98 },
      preloadHitRate: { atLeast: 0.95, met: preload.hits / preload.firsts >= 0.95 },
      unusedPrefetchShare: { atMost: 0.2, met: (snapshot.unusedPrefetchShare ?? 0) <= 0.2 },
    },
    workloads: {
      corpusFiles: files,
      processes: workloads.length,
      withChoices: workloads.filter((workload) => workload.hasChoices).length,
    },
    accuracy: accuracyFigures,
    perProcessTop1RatioAt100: {
      median: round(quantile(accuracy.perWorkloadRatioAt100, 0.5)),
      p10: round(quantile(accuracy.perWorkloadRatioAt100, 0.1)),
      min: round(Math.min(...accuracy.perWorkloadRatioAt100)),
    },
    predictionsOutsideGraph: accuracy.predictionsOutsideGraph,
    transitionsNotAllowedByGraph: accuracy.transitionsNotAllowed,
    timeline: {
      prefetchHitRate: round(snapshot.prefetchHitRate ?? 0),
      prefetchesUsed: snapshot.prefetchesUsed,
      prefetchesUnused: snapshot.prefetchesUnused,
      onlineTop1Accuracy: round(snapshot.predictionAccuracyTop1 ?? 0),
      onlineTop3Accuracy: round(snapshot.predictionAccuracyTop3 ?? 0),
      firstTasksOfNewVersions: preload.firsts,
      preloadHitRateBusy: round(preload.busyHits / Math.max(preload.busyFirsts, 1)),
      firstTasksOfNewVersionsBusy: preload.busyFirsts,
      preloadHitRateQuiet: round(preload.quietHits / Math.max(preload.quietFirsts, 1)),
      firstTasksOfNewVersionsQuiet: preload.quietFirsts,
      definitionFetches: prefetching.fetches,
      modelBytesAtEnd: prefetching.modelBytes,
    },
    memory: memory === undefined ? null : {
      ...memory,
      heapPerEstimatedByte: round(memory.heapBytes / memory.estimatedBytes, 2),
    },
    method: {
      seed: SEED,
      referenceInstances: REFERENCE_INSTANCES,
      testInstances: TEST_INSTANCES,
      checkpoints: CHECKPOINTS,
      timelineInstances: TIMELINE_INSTANCES,
      newVersionsPerProcess: NEW_VERSIONS,
      instanceGapMs: INSTANCE_GAP_MS,
      taskGapMs: TASK_GAP_MS,
      engineCallMs: ENGINE_CALL_MS,
      busyGapMs: BUSY_GAP_MS,
      preloadIntervalMs: DEFAULTS.preloadIntervalMs,
      minProbability: DEFAULTS.minProbability,
      maxPrefetches: DEFAULTS.maxPrefetches,
      prefetchWindowMs: DEFAULTS.prefetchWindowMs,
    },
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  writeDocsSection(results);
  console.log(JSON.stringify(results, null, 2));
}

type Results = Record<string, unknown> & {
  accuracy: Record<string, { transitions: number; oursTop1: number; bestTop1: number; oursTop3: number; bestTop3: number; top1RatioToOptimal: number }>;
};

const SECTION_BEGIN = '<!-- bench:prediction begin -->';
const SECTION_END = '<!-- bench:prediction end -->';

/** Replaces the prediction section of docs/benchmarks.md (between its markers) with this run's figures, or appends it. */
function writeDocsSection(results: Results): void {
  const docs = readFileSync(DOCS_FILE, 'utf8');
  const section = `${SECTION_BEGIN}\n${predictionSection(results)}${SECTION_END}`;
  const begin = docs.indexOf(SECTION_BEGIN);
  const end = docs.indexOf(SECTION_END);
  const updated = begin >= 0 && end > begin
    ? `${docs.slice(0, begin)}${section}${docs.slice(end + SECTION_END.length)}`
    : `${docs.trimEnd()}\n\n${section}\n`;
  writeFileSync(DOCS_FILE, updated);
}

function predictionSection(results: Results): string {
  const value = (path: string): unknown => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], results);
  const machine = results.machine as { logicalCpus: number; loadAverage1mAtStart: number; loadAverage1mAtEnd: number; memoryGiB: number; kernel: string };
  const goal = (key: string) => ((value(`goals.${key}.met`) as boolean) ? 'met' : 'missed');
  const memory = results.memory as (MemoryResult & { heapPerEstimatedByte: number }) | null;
  const rows = CHECKPOINTS.map((checkpoint) => {
    const figures = results.accuracy[`after${checkpoint}`] as Results['accuracy'][string];
    return `| ${checkpoint.toLocaleString('en-US')} | ${figures.oursTop1.toFixed(3)} | ${figures.bestTop1.toFixed(3)} | ${figures.top1RatioToOptimal.toFixed(3)} | ${figures.oursTop3.toFixed(3)} | ${figures.bestTop3.toFixed(3)} |`;
  });
  const memoryLine = memory === null
    ? 'The memory check did not run (node without `--expose-gc`).'
    : [
      `Memory: fed ${memory.definitionsFed.toLocaleString('en-US')} definitions with counts, a model bounded to`,
      `${(memory.maxBytes / 2 ** 20).toFixed(0)} MiB kept ${memory.definitionsHeld.toLocaleString('en-US')} of them. It estimated its size at ${(memory.estimatedBytes / 2 ** 20).toFixed(1)} MiB,`,
      `and it held ${(memory.heapBytes / 2 ** 20).toFixed(1)} MiB of heap after a full garbage collection`,
      `(${memory.heapPerEstimatedByte} heap bytes per estimated byte).`,
    ].join('\n');
  const percent = (path: string) => `${((value(path) as number) * 100).toFixed(1)} %`;

  return `## Next-task prediction

What is measured (\`bench/prediction.ts\`): how close next-task prediction
comes to the best possible, and how well prefetching and preloading
prepare tasks, on real process models.

Workloads: every process with at least two task activities in the
well-formed files of the BPMN corpus (${value('workloads.processes')} processes from
${value('workloads.corpusFiles')} files, ${value('workloads.withChoices')} with a choice or a boundary event). Each
gateway gets branch probabilities drawn once from a seeded source, and each
activity with boundary events a chance of 2 to 15 % to leave through one.
\`bench/support/process-simulator.ts\` runs instances as tokens; parallel
branches interleave at random, and every task activity counts as served.

- **Accuracy.** The best possible predictor is given the current task's
  activity, as the daemon is. It also has the workload's true transition
  frequencies, counted over ${REFERENCE_INSTANCES.toLocaleString('en-US')} reference instances per process, and
  after activity A it names the activity that most often follows A. It has
  no view of other branches still running, so a predictor that tracked
  every token could do better on parallel processes. Our model
  learns from 10, 100 and 1,000 training instances; both then predict the
  transitions of the same ${TEST_INSTANCES.toLocaleString('en-US')} test instances per process, and the ratio
  is ours over the best, pooled over all processes.
- **Prefetching and preloading.** ${TIMELINE_INSTANCES} instances per process run through the
  real \`PredictionService\` and \`DefinitionPreloader\` with the default
  configuration, over simulated caches in virtual time. Instances of a
  process start at random, with a mean pause drawn per process
  (log-uniform from ${INSTANCE_GAP_MS.min / 1_000} s to ${INSTANCE_GAP_MS.max / 60_000} min); tasks of an instance follow each other
  after ${TASK_GAP_MS / 1_000} s on average. ${NEW_VERSIONS} new versions of every process are
  deployed at random times, and the preloader polls every
  ${(value('method.preloadIntervalMs') as number) / 1_000} s. Loading a definition takes an assumed ${ENGINE_CALL_MS} ms per engine call
  plus the file's measured parse time. A first task of a new version counts
  as preloaded when its definition was loaded before it arrived.

Command, from the repository root (about a minute): \`npm run bench:prediction\`.
It writes \`bench/results/prediction.json\` and this section.

Run of ${(value('generatedAt') as string).slice(0, 10)} on a ${machine.logicalCpus}-vCPU virtual machine (${machine.memoryGiB} GiB RAM, Linux
${machine.kernel.split('-')[0]}), Node ${value('node')}; the 1-minute load average was ${machine.loadAverage1mAtStart} at
the start and ${machine.loadAverage1mAtEnd} at the end. The workloads are seeded, so the figures
repeat from run to run; only the memory figure moves with the machine.

| Figure | Result | Goal |
| --- | ---: | --- |
| Top-1 accuracy over the best possible after 100 instances (\`accuracyRatioToOptimalAt100\`) | ${(value('accuracyRatioToOptimalAt100') as number).toFixed(3)} | at least 0.98: ${goal('accuracyRatioToOptimalAt100')} |
| The same after 1,000 instances (\`accuracyRatioToOptimalAt1000\`) | ${(value('accuracyRatioToOptimalAt1000') as number).toFixed(3)} | |
| First tasks of new versions that found their definition preloaded (\`preloadHitRate\`) | ${(value('preloadHitRate') as number).toFixed(3)} | at least 0.95: ${goal('preloadHitRate')} |
| Prefetches no task used within the ${DEFAULTS.prefetchWindowMs / 60_000}-minute window (\`unusedPrefetchShare\`) | ${(value('unusedPrefetchShare') as number).toFixed(3)} | at most 0.2: ${goal('unusedPrefetchShare')} |
| Tasks whose route was ready on arrival (\`timeline.prefetchHitRate\`) | ${(value('timeline.prefetchHitRate') as number).toFixed(3)} | |

| Training instances | Ours, top-1 | Best, top-1 | Ratio | Ours, top-3 | Best, top-3 |
| ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Per process, the top-1 ratio after 100 instances has a median of
${value('perProcessTop1RatioAt100.median')}, a 10th percentile of ${value('perProcessTop1RatioAt100.p10')} and a minimum of ${value('perProcessTop1RatioAt100.min')}. The best
predictor is itself estimated from a sample, so a ratio can exceed 1 where
our counts pick the better of two nearly equal successors. No prediction
named an activity the graph does not allow after the current one
(\`predictionsOutsideGraph\`: ${value('predictionsOutsideGraph')}), and the graph allowed every transition the
simulator produced (\`transitionsNotAllowedByGraph\`: ${value('transitionsNotAllowedByGraph')}).

Preloading depends on how soon a new version's first task follows its
deployment. Processes with an instance at least every minute preloaded
${percent('timeline.preloadHitRateBusy')} of ${value('timeline.firstTasksOfNewVersionsBusy')} first tasks, the others ${percent('timeline.preloadHitRateQuiet')} of ${value('timeline.firstTasksOfNewVersionsQuiet')}. A process
whose first task follows its deployment within the poll interval misses
more. An estimate from the poll interval alone: a process that starts an
instance every second would preload about 60 % of its new versions at the
default interval. That is the chance that no instance starts during a
uniform wait of up to 1 s for the next poll, 1 - 1/e.

${memoryLine}

`;
}

await main();
