/**
 * Next-task prediction in the task pipeline. When a task arrives, the
 * service counts whether its route was ready and whether a prefetch made it
 * so. After the task is routed, the service scores the prediction made
 * after the previous task of the same process instance and counts the
 * transition. Then it predicts the next activities and prepares them: their
 * routes resolved and their services' connection pools opened. It also
 * fetches and parses the definitions of the processes that call activities
 * on the way will start. On a task's path only the arrival's few map
 * lookups run.
 */
import type { Clock } from '../definitions/adaptive-cache.ts';
import { systemClock } from '../definitions/adaptive-cache.ts';
import type { Activity, DefinitionModel } from '../definitions/model.ts';
import type { PredictionOptions } from '../config/types.ts';
import type { Task } from '../engine/types.ts';
import { silentLogger, type Logger } from '../telemetry/logger.ts';
import type { PredictionResult } from '../telemetry/recorder.ts';
import { ProcessGraph } from './graph.ts';
import { InstanceTracker } from './instance-tracker.ts';
import { activityItem, definitionItem, PrefetchLedger } from './prefetch-ledger.ts';
import { SequenceModel, type Prediction, type SequenceModelStats } from './sequence-model.ts';
import type { CountEntry, SharedTransitionCounts } from './shared-counts.ts';

/** The store of prepared routes and loaded definitions: the orchestrator's caches and dispatcher, or a simulation of them. */
export interface PreparationTarget {
  /** Whether a task of the activity would find its route's inputs cached, so no definition is loaded on its path. */
  isActivityPrepared(definitionId: string, activityId: string): boolean;
  /** Caches the activity's properties, resolves its route and opens its service's connection pool. Rejects when the definition cannot be loaded. */
  prepareActivity(definitionId: string, activityId: string): Promise<void>;
  isDefinitionLoaded(definitionId: string): boolean;
  /** Returns the parsed definition, loading it on a miss. */
  loadDefinition(definitionId: string): Promise<DefinitionModel>;
  /** Returns the id of the latest version of a process key. */
  latestDefinitionId(processKey: string): Promise<string>;
}

/** The counters the service feeds; `TelemetryRecorder` implements them. */
export interface PredictionRecorder {
  prediction(result: PredictionResult): void;
  prefetch(used: boolean): void;
  taskArrival(ready: boolean): void;
}

/** The fields of a task that the service reads. */
export type TaskRef = Pick<Task, 'id' | 'activityId' | 'processInstanceId' | 'processDefinitionId' | 'processDefinitionKey'>;

export interface PredictionServiceOptions {
  options: PredictionOptions;
  target: PreparationTarget;
  /** Whether tasks of an activity reach this service; only those are predicted. */
  isObserved: (activity: Activity) => boolean;
  recorder: PredictionRecorder;
  logger?: Logger;
  /** Clock of the prefetch window. @default performance */
  clock?: Clock;
  /** Sharing of the counts between replicas; undefined keeps them local. */
  shared?: SharedTransitionCounts;
}

export interface PredictionStats {
  model: SequenceModelStats;
  trackedInstances: number;
  /** Prefetched items waiting for a task. */
  pendingPrefetches: number;
  /** Definitions whose first task this service saw (a definition forgotten and seen again counts again). */
  definitionsSeen: number;
  /** Of those, the definitions that were loaded before their first task arrived. */
  definitionsPreloaded: number;
  /** Definitions this service loaded itself: preloaded versions, called processes and definitions of `prefetchCommonActivities()`. */
  definitionLoads: number;
  /** Syncs of the shared counts that took over the totals from Redis. */
  sharedSyncs: number;
  /** Syncs of the shared counts that could not reach Redis. */
  sharedSyncFailures: number;
}

/** How many predictions are kept per instance for scoring: top-1 and top-3 accuracy. */
const SCORED_PREDICTIONS = 3;

/** The settled promise of a {@link PredictionService.taskRouted} call with nothing left to wait for. */
const SETTLED = Promise.resolve();

/** A call activity's `calledElement` that is an expression, resolved by the engine per instance. */
const EXPRESSION = /[$#]\{/;

/** Prediction and prefetching; see the module comment. */
export class PredictionService {
  readonly #options: PredictionOptions;
  readonly #target: PreparationTarget;
  readonly #isObserved: (activity: Activity) => boolean;
  readonly #recorder: PredictionRecorder;
  readonly #logger: Logger;
  readonly #shared: SharedTransitionCounts | undefined;
  readonly #model: SequenceModel;
  readonly #instances: InstanceTracker;
  readonly #ledger: PrefetchLedger;
  /** Definitions whose first task was seen, bounded like the model; the value is unused. */
  readonly #seen = new Map<string, true>();
  /** Definitions whose graph exceeded the model's bound, so they are not built again for every task. */
  readonly #rejected = new Map<string, true>();
  readonly #stats = { definitionsSeen: 0, definitionsPreloaded: 0, definitionLoads: 0, sharedSyncs: 0, sharedSyncFailures: 0 };
  /** Loads of uncached definitions under way, so concurrent callers share one. */
  readonly #loading = new Map<string, Promise<DefinitionModel>>();
  readonly #timers: NodeJS.Timeout[] = [];
  #syncing: Promise<void> | undefined;
  #closed = false;

  constructor(options: PredictionServiceOptions) {
    this.#options = options.options;
    this.#target = options.target;
    this.#isObserved = options.isObserved;
    this.#recorder = options.recorder;
    this.#logger = options.logger ?? silentLogger();
    this.#shared = options.shared;
    this.#model = new SequenceModel({
      maxDefinitions: this.#options.maxDefinitions,
      maxBytesPerDefinition: this.#options.maxBytesPerDefinition,
      maxBytes: this.#options.maxBytes,
    });
    this.#instances = new InstanceTracker(this.#options.maxInstances);
    this.#ledger = new PrefetchLedger({
      windowMs: this.#options.prefetchWindowMs,
      maxPending: this.#options.maxInstances,
      clock: options.clock ?? systemClock,
      onSettled: (used) => this.#recorder.prefetch(used),
    });
  }

  /**
   * Starts the timers: the sweep that counts prefetches whose window ended,
   * and the sync of shared counts. Without them the sweep runs on task
   * arrivals only, and shared counts sync only through {@link syncShared}.
   */
  startTimers(): void {
    const sweep = setInterval(() => this.#ledger.sweep(), Math.max(1_000, this.#options.prefetchWindowMs / 10));
    sweep.unref();
    this.#timers.push(sweep);
    if (this.#shared !== undefined && this.#options.shared !== undefined) {
      const sync = setInterval(() => void this.syncShared(), this.#options.shared.syncIntervalMs);
      sync.unref();
      this.#timers.push(sync);
    }
  }

  /**
   * Records a task's arrival, before it is routed: whether its route was
   * ready, whether a prefetch made it so, and, for the first task of a
   * definition, whether the definition was loaded already. Returns whether
   * the route was ready.
   */
  taskArriving(task: TaskRef): boolean {
    const definitionId = task.processDefinitionId;
    const ready = this.#target.isActivityPrepared(definitionId, task.activityId);
    this.#recorder.taskArrival(ready);
    if (!this.#seen.has(definitionId)) {
      this.#remember(this.#seen, definitionId);
      this.#stats.definitionsSeen += 1;
      if (this.#target.isDefinitionLoaded(definitionId)) {
        this.#stats.definitionsPreloaded += 1;
      }
    }

    if (this.#ledger.size > 0) {
      this.#ledger.sweep();
      this.#ledger.use(activityItem(definitionId, task.activityId));
      this.#ledger.use(definitionItem(definitionId));
    }
    return ready;
  }

  /**
   * Learns from a routed task and prepares what is likely to come next in
   * its process instance. Never rejects: a definition that cannot be loaded
   * or a prefetch that fails is logged at debug and skipped.
   */
  taskRouted(task: TaskRef): Promise<void> {
    if (this.#closed) {
      return SETTLED;
    }
    if (!this.#model.has(task.processDefinitionId)) {
      return this.#learnAfterLoading(task);
    }
    try {
      const predictions = this.#learn(task);
      if (!this.#hasPrefetchWork(task.processDefinitionId, task.activityId, predictions)) {
        return SETTLED;
      }
      return this.#prefetch(task.processDefinitionId, task.activityId, predictions).catch((error: unknown) => this.#skipped(task, error));
    } catch (error) {
      this.#skipped(task, error);
      return SETTLED;
    }
  }

  /** {@link taskRouted} for a definition whose graph the model does not hold yet. */
  async #learnAfterLoading(task: TaskRef): Promise<void> {
    try {
      if (!(await this.#ensureGraph(task.processDefinitionId, task.processDefinitionKey))) {
        return;
      }
      const predictions = this.#learn(task);
      await this.#prefetch(task.processDefinitionId, task.activityId, predictions);
    } catch (error) {
      this.#skipped(task, error);
    }
  }

  #skipped(task: TaskRef, error: unknown): void {
    this.#logger.debug({ err: error, taskId: task.id, definitionId: task.processDefinitionId }, 'prediction skipped');
  }

  /** Returns the activities most likely to follow `activityId` (undefined: the first task) in a definition the model holds. */
  predict(definitionId: string, activityId: string | undefined, limit: number): readonly Prediction[] {
    return this.#model.predict(definitionId, activityId, limit);
  }

  /**
   * Loads a definition ahead of its first task, counted as a prefetch;
   * returns false when it cannot be loaded (the error is logged).
   */
  async prefetchDefinition(definitionId: string): Promise<boolean> {
    if (this.#target.isDefinitionLoaded(definitionId)) {
      return true;
    }
    this.#ledger.add(definitionItem(definitionId));
    try {
      await this.#load(definitionId);
      return true;
    } catch (error) {
      this.#logger.warn({ err: error, definitionId }, 'definition prefetch failed');
      return false;
    }
  }

  /**
   * Prepares the activities an instance of the definition visits with at
   * least `minProbability`, by the counts (of this or the previous version
   * of the process) and the graph. Returns how many of them are prepared
   * afterwards; 0 when the definition cannot be loaded (the error is logged).
   */
  async prefetchCommonActivities(definitionId: string, processKey?: string): Promise<number> {
    try {
      if (!(await this.#ensureGraph(definitionId, processKey))) {
        return 0;
      }
    } catch (error) {
      this.#logger.warn({ err: error, definitionId }, 'definition prefetch failed');
      return 0;
    }

    let prepared = 0;
    for (const { activityId } of this.#model.likelyActivities(definitionId, this.#options.minProbability)) {
      if (await this.#prepare(definitionId, activityId)) {
        prepared += 1;
      }
    }
    return prepared;
  }

  /**
   * Sends this replica's new counts to Redis and takes over the totals of
   * all replicas. Calls while one runs share it. Never rejects.
   */
  syncShared(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  stats(): PredictionStats {
    return {
      model: this.#model.stats(),
      trackedInstances: this.#instances.size,
      pendingPrefetches: this.#ledger.size,
      ...this.#stats,
    };
  }

  /** Counts the prefetches whose window has ended as unused; returns how many. */
  sweep(): number {
    return this.#ledger.sweep();
  }

  /** Stops the timers, sends the last shared counts and clears the model. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const timer of this.#timers) {
      clearInterval(timer);
    }
    if (this.#shared !== undefined) {
      await this.syncShared();
    }
    this.#model.clear();
    this.#instances.clear();
    this.#ledger.clear();
  }

  /** Scores the previous prediction of the task's instance, counts the transition and returns the new predictions. */
  #learn(task: TaskRef): readonly Prediction[] {
    const definitionId = task.processDefinitionId;
    const instanceId = task.processInstanceId;
    const limit = Math.max(SCORED_PREDICTIONS, this.#options.maxPrefetches);
    const previous = this.#instances.get(instanceId);
    if (previous?.recentTaskIds.includes(task.id) === true) {
      return this.#model.predict(definitionId, task.activityId, limit);
    }

    // An instance seen with another definition was migrated: its transition belongs to neither version.
    if (previous === undefined || previous.definitionId === definitionId) {
      const from = previous?.activityId;
      if (previous !== undefined) {
        this.#recorder.prediction(resultOf(previous.predicted.indexOf(task.activityId)));
      }
      if (this.#model.observe(definitionId, from, task.activityId) === 'counted') {
        this.#shared?.add(definitionId, from, task.activityId);
      }
    }

    const predictions = this.#model.predict(definitionId, task.activityId, limit);
    this.#instances.record(instanceId, task.id, { definitionId, activityId: task.activityId, predicted: topActivityIds(predictions) }, previous);
    return predictions;
  }

  /**
   * Whether preparing after these predictions has anything to do: a likely
   * activity that is not prepared, or a called process to start loading.
   * Most tasks find everything prepared, and skip the asynchronous steps.
   */
  #hasPrefetchWork(definitionId: string, activityId: string, predictions: readonly Prediction[]): boolean {
    const count = Math.min(predictions.length, this.#options.maxPrefetches);
    for (let index = 0; index < count; index += 1) {
      const prediction = predictions[index] as Prediction;
      if (prediction.probability < this.#options.minProbability) {
        break;
      }
      if (!this.#target.isActivityPrepared(definitionId, prediction.activityId)) {
        return true;
      }
    }
    const calls = this.#model.prior(definitionId, activityId)?.calls ?? [];
    return calls.some((call) => call.chance >= this.#options.minProbability && !EXPRESSION.test(call.calledElement));
  }

  /** Prepares the likely next activities and the processes that call activities on the way start. */
  async #prefetch(definitionId: string, activityId: string, predictions: readonly Prediction[]): Promise<void> {
    for (const prediction of predictions.slice(0, this.#options.maxPrefetches)) {
      if (prediction.probability < this.#options.minProbability) {
        break;
      }
      await this.#prepare(definitionId, prediction.activityId);
    }

    const calls = this.#model.prior(definitionId, activityId)?.calls ?? [];
    for (const call of calls) {
      if (call.chance >= this.#options.minProbability && !EXPRESSION.test(call.calledElement)) {
        await this.#prefetchCalledProcess(call.calledElement);
      }
    }
  }

  /**
   * Loads the latest definition of a called process and prepares its likely
   * first activities, since its instance starts when the call activity is
   * reached.
   */
  async #prefetchCalledProcess(processKey: string): Promise<void> {
    const definitionId = await this.#target.latestDefinitionId(processKey);
    if (!(await this.prefetchDefinition(definitionId)) || !(await this.#ensureGraph(definitionId, processKey))) {
      return;
    }
    for (const prediction of this.#model.predict(definitionId, undefined, this.#options.maxPrefetches)) {
      if (prediction.probability < this.#options.minProbability) {
        break;
      }
      await this.#prepare(definitionId, prediction.activityId);
    }
  }

  /**
   * Prepares one activity unless it is prepared already; returns whether it
   * is prepared afterwards. Each preparation is a prefetch in the ledger.
   */
  async #prepare(definitionId: string, activityId: string): Promise<boolean> {
    if (this.#target.isActivityPrepared(definitionId, activityId)) {
      return true;
    }
    this.#ledger.add(activityItem(definitionId, activityId));
    try {
      await this.#target.prepareActivity(definitionId, activityId);
      return true;
    } catch (error) {
      this.#logger.debug({ err: error, definitionId, activityId }, 'activity prefetch failed');
      return false;
    }
  }

  /**
   * Makes sure the model has the definition's graph, loading the definition
   * when needed. Returns false for a definition whose graph exceeds the
   * model's bound; rejects when it cannot be loaded.
   */
  async #ensureGraph(definitionId: string, processKey: string | undefined): Promise<boolean> {
    if (this.#model.has(definitionId)) {
      return true;
    }
    if (this.#rejected.has(definitionId)) {
      return false;
    }

    const definition = await this.#load(definitionId);
    if (this.#model.has(definitionId)) {
      return true;
    }
    const processId = processKey ?? onlyExecutableProcess(definition);
    const graph = ProcessGraph.fromModel(definition, {
      processId,
      isObserved: this.#isObserved,
      maxConcurrencyBytes: this.#options.maxBytesPerDefinition / 2,
    });
    if (!this.#model.add(definitionId, graph, processId)) {
      this.#remember(this.#rejected, definitionId);
      this.#logger.warn(
        { definitionId, graphBytes: graph.estimatedBytes, maxBytesPerDefinition: this.#options.maxBytesPerDefinition },
        'definition too large for next-task prediction; raise prediction.maxBytesPerDefinition to predict its tasks',
      );
      return false;
    }
    return true;
  }

  /**
   * Loads a definition through the target. A load of a definition that was
   * not cached is counted once, however many callers wait for it.
   */
  #load(definitionId: string): Promise<DefinitionModel> {
    const pending = this.#loading.get(definitionId);
    if (pending !== undefined) {
      return pending;
    }
    if (this.#target.isDefinitionLoaded(definitionId)) {
      return this.#target.loadDefinition(definitionId);
    }

    this.#stats.definitionLoads += 1;
    const loading = this.#target.loadDefinition(definitionId).finally(() => this.#loading.delete(definitionId));
    this.#loading.set(definitionId, loading);
    return loading;
  }

  async #sync(): Promise<void> {
    if (this.#shared === undefined) {
      return;
    }
    const definitionIds = this.#model.definitionIds();
    const totals = await this.#shared.sync(definitionIds);
    if (totals === undefined) {
      this.#stats.sharedSyncFailures += 1;
      return;
    }
    this.#stats.sharedSyncs += 1;
    for (const [definitionId, entries] of totals) {
      if (entries.length === 0) {
        // Nothing shared yet: keep the local counts, which may come from the previous version.
        continue;
      }
      // Increments made while the sync was under way are not in the totals yet.
      const merged: CountEntry[] = [...entries, ...this.#shared.pending(definitionId)];
      this.#model.replaceCounts(definitionId, merged);
    }
  }

  /** Adds an id to a bounded set of definition ids, dropping the oldest beyond `maxDefinitions`. */
  #remember(set: Map<string, true>, definitionId: string): void {
    set.set(definitionId, true);
    if (set.size > this.#options.maxDefinitions) {
      set.delete(set.keys().next().value as string);
    }
  }
}

/** Activity ids of the predictions kept for scoring, built once per prediction list (the model reuses a list until its counts change). */
const scoredIdsByList = new WeakMap<readonly Prediction[], readonly string[]>();

function topActivityIds(predictions: readonly Prediction[]): readonly string[] {
  let ids = scoredIdsByList.get(predictions);
  if (ids === undefined) {
    ids = Object.freeze(predictions.slice(0, SCORED_PREDICTIONS).map((prediction) => prediction.activityId));
    scoredIdsByList.set(predictions, ids);
  }
  return ids;
}

/** Where a task's activity stood among the predicted ones: first, second or third, or not at all (-1). */
function resultOf(rank: number): PredictionResult {
  if (rank === 0) {
    return 'top1';
  }
  return rank > 0 ? 'top3' : 'miss';
}

/** Returns the id of the file's one executable process, or undefined when it has none or several. */
function onlyExecutableProcess(definition: DefinitionModel): string | undefined {
  const executable = definition.processes.filter((process) => process.isExecutable);
  return executable.length === 1 ? executable[0]?.id : undefined;
}
