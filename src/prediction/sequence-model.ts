/**
 * The learned part of next-task prediction: per definition, how often a
 * task of one activity was followed by a task of another in the same
 * process instance. Predictions combine these counts with the graph prior
 * (see graph.ts) as a Dirichlet posterior, so they are sensible before the
 * first observation and never name an activity that the graph does not
 * allow after the current one. Memory is bounded per definition and in
 * total by estimated bytes; the least recently used definition goes first.
 */
import { START, type GraphPrior, type ProcessGraph } from './graph.ts';

export interface SequenceModelOptions {
  /** Definitions kept at once. */
  maxDefinitions: number;
  /** Estimated bytes of one definition: its graph, counts and cached priors. */
  maxBytesPerDefinition: number;
  /** Estimated bytes of all definitions together. */
  maxBytes: number;
}

/** A predicted next activity with its posterior probability. */
export interface Prediction {
  activityId: string;
  probability: number;
}

const NO_PREDICTIONS: readonly Prediction[] = Object.freeze([]);

/** Outcome of {@link SequenceModel.observe} for one transition. */
export type ObserveResult = 'counted' | 'unknownDefinition' | 'unknownActivity' | 'notAllowed';

export interface SequenceModelStats {
  definitions: number;
  /** Estimated bytes held. */
  bytes: number;
  maxBytes: number;
  /** Definitions whose graph alone exceeds `maxBytesPerDefinition`; they get no predictions. */
  rejectedDefinitions: number;
  /** Definitions dropped to stay within the bounds. */
  evictedDefinitions: number;
  /** Observed transitions the graph does not allow, e.g. after a task was retried; they are not counted. */
  transitionsNotAllowed: number;
}

/**
 * Weight of the graph prior in observations: after n transitions from an
 * activity the counts weigh n and the prior 1, so a single observation
 * already outweighs the prior's choice.
 */
const PRIOR_WEIGHT = 1;

/**
 * Estimated bytes: a definition's fixed part, one row of counts (a Map),
 * one counted pair in a row, one cached prior and one successor in it (the
 * array element and the Set entry). Estimates, checked against the heap in
 * the prediction benchmark.
 */
const DEFINITION_BYTES = 1_000;
const ROW_BYTES = 260;
const PAIR_BYTES = 80;
const PRIOR_BYTES = 500;
const SUCCESSOR_BYTES = 80;
/** One entry of a cached prediction list: the object and its array slot. */
const PREDICTION_BYTES = 48;

/**
 * A graph prior with its successors as a set, for the allowed check, and
 * the last prediction list made from its node, until that node's counts
 * change.
 */
interface CachedPrior {
  prior: GraphPrior;
  allowed: ReadonlySet<number>;
  bytes: number;
  predictions: { limit: number; list: readonly Prediction[] } | undefined;
}

/** Everything kept for one definition. */
class DefinitionState {
  readonly processKey: string | undefined;
  readonly graph: ProcessGraph;
  /** Counts by from-node (or {@link START}) and to-node. */
  readonly rows = new Map<number, Map<number, number>>();
  readonly totals = new Map<number, number>();
  readonly priors = new Map<number, CachedPrior>();
  pairs = 0;
  priorBytes = 0;

  constructor(graph: ProcessGraph, processKey: string | undefined) {
    this.graph = graph;
    this.processKey = processKey;
  }

  get bytes(): number {
    return DEFINITION_BYTES + this.graph.estimatedBytes + this.rows.size * ROW_BYTES + this.pairs * PAIR_BYTES + this.priorBytes;
  }

  /** Bytes of the graph and the fixed part, which no trimming frees. */
  get baseBytes(): number {
    return DEFINITION_BYTES + this.graph.estimatedBytes;
  }
}

/** Counts of task sequences per definition; see the module comment. */
export class SequenceModel {
  readonly #options: SequenceModelOptions;
  /** States in least recently used order: the first is evicted first. */
  readonly #definitions = new Map<string, DefinitionState>();
  /** The most recently added definition of each process key, whose counts a new version inherits. */
  readonly #latestByKey = new Map<string, string>();
  /** The state last moved to the end of {@link #definitions}; touching it again needs no move. */
  #mostRecent: DefinitionState | undefined;
  #bytes = 0;
  #rejected = 0;
  #evicted = 0;
  #notAllowed = 0;

  /** @throws TypeError when a bound is not a positive integer or the per-definition bound exceeds the total. */
  constructor(options: SequenceModelOptions) {
    for (const [key, value] of Object.entries(options)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new TypeError(`SequenceModel: ${key} must be a positive integer, received ${String(value)}; an unbounded model is not allowed`);
      }
    }
    if (options.maxBytesPerDefinition > options.maxBytes) {
      throw new TypeError(`SequenceModel: maxBytesPerDefinition (${options.maxBytesPerDefinition}) must not exceed maxBytes (${options.maxBytes})`);
    }
    this.#options = { ...options };
  }

  has(definitionId: string): boolean {
    return this.#definitions.has(definitionId);
  }

  /** Returns the graph of a known definition. */
  graph(definitionId: string): ProcessGraph | undefined {
    return this.#definitions.get(definitionId)?.graph;
  }

  /**
   * Adds a definition with its graph. When another definition of the same
   * process key is known, the new one starts with its counts, taken over by
   * activity id where the new graph allows them, since a new version mostly
   * keeps its activities. Returns false when the graph alone exceeds
   * `maxBytesPerDefinition`; the definition then gets no predictions.
   */
  add(definitionId: string, graph: ProcessGraph, processKey?: string): boolean {
    this.delete(definitionId);
    const state = new DefinitionState(graph, processKey);
    if (state.baseBytes > this.#options.maxBytesPerDefinition) {
      this.#rejected += 1;
      return false;
    }

    this.#definitions.set(definitionId, state);
    this.#mostRecent = state;
    this.#bytes += state.bytes;
    const previous = processKey === undefined ? undefined : this.#definitions.get(this.#latestByKey.get(processKey) ?? '');
    if (previous !== undefined && previous !== state) {
      this.#inherit(state, previous);
    }
    if (processKey !== undefined) {
      this.#latestByKey.set(processKey, definitionId);
    }
    this.#enforceTotal(definitionId);
    return true;
  }

  /** Forgets a definition; returns whether it was known. */
  delete(definitionId: string): boolean {
    const state = this.#definitions.get(definitionId);
    if (state === undefined) {
      return false;
    }
    this.#definitions.delete(definitionId);
    if (state === this.#mostRecent) {
      this.#mostRecent = undefined;
    }
    this.#bytes -= state.bytes;
    if (state.processKey !== undefined && this.#latestByKey.get(state.processKey) === definitionId) {
      this.#latestByKey.delete(state.processKey);
    }
    return true;
  }

  /**
   * Counts one transition: a task of `toActivityId` followed one of
   * `fromActivityId` (undefined for the first task of an instance).
   * Transitions the graph does not allow are not counted.
   */
  observe(definitionId: string, fromActivityId: string | undefined, toActivityId: string, count = 1): ObserveResult {
    const state = this.#touch(definitionId);
    if (state === undefined) {
      return 'unknownDefinition';
    }
    const from = fromActivityId === undefined ? START : state.graph.indexOf(fromActivityId);
    const to = state.graph.indexOf(toActivityId);
    if (from === undefined || to === undefined) {
      return 'unknownActivity';
    }
    if (!this.#prior(state, from).allowed.has(to)) {
      this.#notAllowed += 1;
      return 'notAllowed';
    }
    this.#addCount(state, from, to, count);
    this.#enforceTotal(definitionId);
    return 'counted';
  }

  /**
   * Returns up to `limit` activities most likely to have the next task after
   * one of `fromActivityId` (undefined: the first task of an instance), most
   * likely first. Each probability is the posterior mean
   * `(count + PRIOR_WEIGHT × prior) / (total + PRIOR_WEIGHT)`, where the prior
   * comes from the graph; only activities the graph allows are listed.
   */
  predict(definitionId: string, fromActivityId: string | undefined, limit: number): readonly Prediction[] {
    const state = this.#touch(definitionId);
    const from = fromActivityId === undefined ? START : state?.graph.indexOf(fromActivityId);
    if (state === undefined || from === undefined || limit < 1) {
      return NO_PREDICTIONS;
    }

    const cached = this.#prior(state, from);
    if (cached.predictions?.limit === limit) {
      return cached.predictions.list;
    }
    const { prior } = cached;
    const row = state.rows.get(from);
    const total = state.totals.get(from) ?? 0;
    const weights = new Map(prior.successors.map((successor) => [successor.index, successor.weight]));
    const candidates = new Set<number>(row?.keys());
    for (const successor of prior.successors.slice(0, limit)) {
      candidates.add(successor.index);
    }

    const scored = [...candidates].map((index) => ({
      index,
      probability: ((row?.get(index) ?? 0) + PRIOR_WEIGHT * (weights.get(index) ?? 0)) / (total + PRIOR_WEIGHT),
    }));
    scored.sort((left, right) => right.probability - left.probability || left.index - right.index);
    const list = Object.freeze(scored.slice(0, limit).map(({ index, probability }) => Object.freeze({ activityId: state.graph.ids[index] as string, probability })));
    cached.predictions = { limit, list };
    return list;
  }

  /** Returns the graph prior after an activity (undefined: at the start), for the call activities on the way. */
  prior(definitionId: string, fromActivityId: string | undefined): GraphPrior | undefined {
    const state = this.#definitions.get(definitionId);
    const from = fromActivityId === undefined ? START : state?.graph.indexOf(fromActivityId);
    return state === undefined || from === undefined ? undefined : this.#prior(state, from).prior;
  }

  /**
   * Returns the observed activities that an instance visits with at least
   * `minChance`, most likely first. The chance blends the share of counted
   * instances that visited the activity with the graph's estimate, weighted
   * like a prediction, so a definition without counts uses the graph alone.
   */
  likelyActivities(definitionId: string, minChance: number): { activityId: string; chance: number }[] {
    const state = this.#touch(definitionId);
    if (state === undefined) {
      return [];
    }

    const graphChances = state.graph.visitChances();
    const visits = new Map<number, number>();
    for (const row of state.rows.values()) {
      for (const [to, count] of row) {
        visits.set(to, (visits.get(to) ?? 0) + count);
      }
    }
    const instances = state.totals.get(START) ?? 0;

    const likely: { activityId: string; chance: number }[] = [];
    for (let index = 0; index < state.graph.size; index += 1) {
      if (!state.graph.isObserved(index)) {
        continue;
      }
      const counted = Math.min(visits.get(index) ?? 0, instances);
      const chance = (counted + PRIOR_WEIGHT * (graphChances[index] as number)) / (instances + PRIOR_WEIGHT);
      if (chance >= minChance) {
        likely.push({ activityId: state.graph.ids[index] as string, chance });
      }
    }
    return likely.sort((left, right) => right.chance - left.chance);
  }

  /** Returns every count of a definition as `[from, to, count]`, with `from` undefined for first tasks. */
  counts(definitionId: string): [string | undefined, string, number][] {
    const state = this.#definitions.get(definitionId);
    if (state === undefined) {
      return [];
    }
    const entries: [string | undefined, string, number][] = [];
    for (const [from, row] of state.rows) {
      for (const [to, count] of row) {
        entries.push([from === START ? undefined : state.graph.ids[from], state.graph.ids[to] as string, count]);
      }
    }
    return entries;
  }

  /**
   * Replaces every count of a definition, e.g. with the totals shared by all
   * replicas. Entries the graph does not allow are left out.
   */
  replaceCounts(definitionId: string, entries: Iterable<[string | undefined, string, number]>): void {
    const state = this.#definitions.get(definitionId);
    if (state === undefined) {
      return;
    }
    const before = state.bytes;
    state.rows.clear();
    state.totals.clear();
    for (const prior of state.priors.values()) {
      prior.predictions = undefined;
    }
    state.pairs = 0;
    this.#bytes += state.bytes - before;

    for (const [fromId, toId, count] of entries) {
      const from = fromId === undefined ? START : state.graph.indexOf(fromId);
      const to = state.graph.indexOf(toId);
      if (from !== undefined && to !== undefined && count > 0 && this.#prior(state, from).allowed.has(to)) {
        this.#addCount(state, from, to, count);
      }
    }
    this.#enforceTotal(definitionId);
  }

  /** Ids of the definitions held, least recently used first. */
  definitionIds(): string[] {
    return [...this.#definitions.keys()];
  }

  stats(): SequenceModelStats {
    return {
      definitions: this.#definitions.size,
      bytes: this.#bytes,
      maxBytes: this.#options.maxBytes,
      rejectedDefinitions: this.#rejected,
      evictedDefinitions: this.#evicted,
      transitionsNotAllowed: this.#notAllowed,
    };
  }

  clear(): void {
    this.#definitions.clear();
    this.#mostRecent = undefined;
    this.#latestByKey.clear();
    this.#bytes = 0;
  }

  /** Returns a definition's state and marks it most recently used. */
  #touch(definitionId: string): DefinitionState | undefined {
    const state = this.#definitions.get(definitionId);
    if (state !== undefined && state !== this.#mostRecent) {
      this.#definitions.delete(definitionId);
      this.#definitions.set(definitionId, state);
      this.#mostRecent = state;
    }
    return state;
  }

  /** Returns the cached prior of a node, computing it on a miss; cached only while the definition's bound allows. */
  #prior(state: DefinitionState, from: number): CachedPrior {
    const cached = state.priors.get(from);
    if (cached !== undefined) {
      return cached;
    }

    const prior = state.graph.prior(from);
    const entry: CachedPrior = {
      prior,
      allowed: new Set(prior.successors.map((successor) => successor.index)),
      bytes: PRIOR_BYTES + prior.successors.length * (SUCCESSOR_BYTES + PREDICTION_BYTES),
      predictions: undefined,
    };
    const before = state.bytes;
    if (before + entry.bytes > this.#options.maxBytesPerDefinition) {
      state.priors.clear();
      state.priorBytes = 0;
    }
    if (state.bytes + entry.bytes <= this.#options.maxBytesPerDefinition) {
      state.priors.set(from, entry);
      state.priorBytes += entry.bytes;
    }
    this.#bytes += state.bytes - before;
    return entry;
  }

  #addCount(state: DefinitionState, from: number, to: number, count: number): void {
    const before = state.bytes;
    let row = state.rows.get(from);
    if (row?.has(to) !== true) {
      this.#makeRoom(state, row === undefined ? ROW_BYTES + PAIR_BYTES : PAIR_BYTES);
      const needed = state.rows.has(from) ? PAIR_BYTES : ROW_BYTES + PAIR_BYTES;
      if (state.bytes + needed > this.#options.maxBytesPerDefinition) {
        this.#bytes += state.bytes - before;
        return;
      }
      row = state.rows.get(from);
      if (row === undefined) {
        row = new Map();
        state.rows.set(from, row);
      }
      state.pairs += 1;
    }
    row.set(to, (row.get(to) ?? 0) + count);
    state.totals.set(from, (state.totals.get(from) ?? 0) + count);
    forgetPredictions(state, from);
    this.#bytes += state.bytes - before;
  }

  /**
   * Frees `bytes` within a definition's bound: first the cached priors, then
   * the least counted pairs, since they weigh least in predictions.
   */
  #makeRoom(state: DefinitionState, bytes: number): void {
    const limit = this.#options.maxBytesPerDefinition;
    if (state.bytes + bytes > limit) {
      state.priors.clear();
      state.priorBytes = 0;
    }
    while (state.bytes + bytes > limit && state.pairs > 0) {
      this.#dropLeastCounted(state);
    }
  }

  #dropLeastCounted(state: DefinitionState): void {
    let least: { from: number; to: number; count: number } | undefined;
    for (const [from, row] of state.rows) {
      for (const [to, count] of row) {
        if (least === undefined || count < least.count) {
          least = { from, to, count };
        }
      }
    }
    if (least === undefined) {
      return;
    }
    const row = state.rows.get(least.from) as Map<number, number>;
    row.delete(least.to);
    state.pairs -= 1;
    state.totals.set(least.from, (state.totals.get(least.from) ?? 0) - least.count);
    forgetPredictions(state, least.from);
    if (row.size === 0) {
      state.rows.delete(least.from);
      state.totals.delete(least.from);
    }
  }

  /** Takes over the counts of another version of the same process, by activity id. */
  #inherit(state: DefinitionState, previous: DefinitionState): void {
    for (const [previousFrom, row] of previous.rows) {
      const from = previousFrom === START ? START : state.graph.indexOf(previous.graph.ids[previousFrom] as string);
      if (from === undefined) {
        continue;
      }
      const allowed = this.#prior(state, from).allowed;
      for (const [previousTo, count] of row) {
        const to = state.graph.indexOf(previous.graph.ids[previousTo] as string);
        if (to !== undefined && allowed.has(to)) {
          this.#addCount(state, from, to, count);
        }
      }
    }
  }

  /** Evicts least recently used definitions, never `keep`, until both total bounds hold. */
  #enforceTotal(keep: string): void {
    for (const [definitionId] of this.#definitions) {
      if (this.#bytes <= this.#options.maxBytes && this.#definitions.size <= this.#options.maxDefinitions) {
        return;
      }
      if (definitionId !== keep) {
        this.delete(definitionId);
        this.#evicted += 1;
      }
    }
  }
}

/** Drops the cached predictions from a node whose counts changed. */
function forgetPredictions(state: DefinitionState, from: number): void {
  const prior = state.priors.get(from);
  if (prior !== undefined) {
    prior.predictions = undefined;
  }
}
