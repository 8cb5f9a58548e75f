/**
 * The prior of next-task prediction: what the BPMN graph of one process
 * allows to follow an activity, and how likely each successor is before any
 * task has been seen.
 *
 * Only "observed" activities are predicted: those whose tasks the caller
 * sees (for the daemon, activities with a topic it serves). Every other flow
 * node (gateways, events, other workers' tasks, call activities) is walked
 * through. The walk follows sequence flows, enters sub-processes at their
 * start nodes, leaves them after their end nodes, and takes boundary events
 * of an activity and of its enclosing sub-processes.
 *
 * Parallel branches make a task of another branch possible next even though
 * no flow leads there. So two activities count as possibly concurrent when
 * they lie on different branches of one fork. Forks are parallel, inclusive
 * and complex gateways, other nodes with several outgoing flows, activities
 * with boundary events (which may be non-interrupting), and scopes that
 * contain an event sub-process. A branch ends at a parallel join that
 * another branch of the same fork reaches. Every activity allowed this way
 * is reachable from the fork by sequence flows.
 *
 * NOTE: the model keeps no multi-instance or loop markers and no link event
 * names. So a task that follows a task of the same activity, or a path
 * through link events, is allowed only where sequence flows allow it.
 */
import { CONTAINER_TYPES } from '../definitions/bpmn-vocabulary.ts';
import type { Activity, DefinitionModel } from '../definitions/model.ts';

/** The virtual node before the first task of a process instance. */
export const START = -1;

/** Gateways that take exactly one outgoing flow; every other node with several flows may take more. */
const SINGLE_PATH_GATEWAYS: ReadonlySet<string> = new Set(['exclusiveGateway', 'eventBasedGateway']);

/**
 * Gateways that wait at a join for a token of every branch they merge. An
 * inclusive or complex join is not among them, although an inclusive join
 * mostly waits too: a complex join may fire before all branches arrive, and
 * treating both as passable keeps every possible successor allowed.
 */
const JOINING_GATEWAYS: ReadonlySet<string> = new Set(['parallelGateway']);

/** Gateways whose outgoing flows are choices, so a visit estimate splits its probability among them. */
const CHOOSING_GATEWAYS: ReadonlySet<string> = new Set(['exclusiveGateway', 'eventBasedGateway', 'inclusiveGateway', 'complexGateway']);

/** Prior share of an activity's successors that goes to its boundary events, which are exceptions. */
const BOUNDARY_SHARE = 0.1;

/** Prior share of the activities that are possible next only through parallel branches. */
const CONCURRENT_SHARE = 0.1;

/** Prior weight of a successor that the walk reaches with no measurable mass (a long loop). */
const MIN_WEIGHT = 1e-6;

/** Mass below which the walk stops following a path. */
const MASS_EPSILON = 1e-9;

/** Walk steps per node and edge, so loops of gateways without tasks end. */
const STEPS_PER_ELEMENT = 20;

/**
 * Estimated bytes of a graph's fixed part (its typed arrays, maps and
 * arrays), per node (its slots, its lists of flows and boundary events, its
 * map entry), per edge (one list element) and per bit set beyond its bits.
 * Estimates, checked against the heap in the prediction benchmark.
 */
const GRAPH_BYTES = 2_000;
const NODE_BYTES = 220;
const EDGE_BYTES = 8;
const BIT_SET_BYTES = 200;

export interface GraphOptions {
  /**
   * Id of the process whose activities form the graph: the definition key.
   * All processes of the file are taken when it is undefined or not in the file.
   */
  processId?: string;
  /** Whether tasks of the activity are seen, and so predicted. */
  isObserved: (activity: Activity) => boolean;
  /**
   * Bytes the concurrency sets may take. Above it every observed activity
   * reachable from a start counts as possibly concurrent with every other,
   * which is coarser but still within what the graph reaches.
   */
  maxConcurrencyBytes: number;
}

/** A successor allowed by the graph, with its prior weight; the weights of one list sum to 1. */
export interface Successor {
  index: number;
  weight: number;
}

/** The successors the graph allows after one activity (or after {@link START}), with the call activities on the way. */
export interface GraphPrior {
  successors: readonly Successor[];
  /** `calledElement` of the call activities on the way to the successors, with the prior chance of passing them. */
  calls: readonly { calledElement: string; chance: number }[];
}

/** The graph of one process in arrays indexed by node. */
export class ProcessGraph {
  /** Activity id of each node. */
  readonly ids: readonly string[];
  readonly observedCount: number;
  /** Estimated memory of this graph in bytes. */
  readonly estimatedBytes: number;
  /** True when the concurrency sets were too large and every reachable activity counts as concurrent. */
  readonly coarseConcurrency: boolean;
  readonly #index: ReadonlyMap<string, number>;
  readonly #types: readonly string[];
  readonly #observed: Uint8Array;
  readonly #parents: Int32Array;
  readonly #outgoing: readonly (readonly number[])[];
  readonly #boundaries: readonly (readonly number[])[];
  /** Start nodes per container, and of the top level under key -1. */
  readonly #starts: ReadonlyMap<number, readonly number[]>;
  readonly #calledElements: readonly (string | undefined)[];
  /** Incoming sequence flows per node. */
  readonly #incoming: Uint32Array;
  /** Event sub-processes per scope (a container's node, or -1 for the top level). */
  readonly #eventSubProcessesByScope: ReadonlyMap<number, readonly number[]>;
  /**
   * Per fork, per branch, the nodes a token of that branch can reach while
   * the other branches may still run, as bit sets over all nodes. Empty in
   * coarse mode.
   */
  readonly #forkRegions: readonly (readonly Uint32Array[])[];
  /** In coarse mode, every node reachable from a start; undefined otherwise. */
  readonly #everything: Uint32Array | undefined;

  private constructor(model: DefinitionModel, options: GraphOptions) {
    const activities = selectActivities(model, options.processId);
    this.ids = activities.map((activity) => activity.id);
    const index = new Map(this.ids.map((id, position) => [id, position]));
    this.#index = index;
    this.#types = activities.map((activity) => activity.type);
    this.#observed = Uint8Array.from(activities, (activity) => (options.isObserved(activity) ? 1 : 0));
    this.observedCount = this.#observed.reduce((sum, flag) => sum + flag, 0);
    this.#parents = Int32Array.from(activities, (activity) => (activity.parentId === undefined ? -1 : (index.get(activity.parentId) ?? -1)));
    this.#outgoing = activities.map((activity) => activity.outgoing.flatMap((target) => index.get(target) ?? []));
    this.#calledElements = activities.map((activity) => (activity.type === 'callActivity' ? activity.calledElement : undefined));

    const boundaries: number[][] = activities.map(() => []);
    activities.forEach((activity, position) => {
      const host = activity.attachedToRef === undefined ? undefined : index.get(activity.attachedToRef);
      if (activity.type === 'boundaryEvent' && host !== undefined) {
        boundaries[host]?.push(position);
      }
    });
    this.#boundaries = boundaries;
    this.#incoming = new Uint32Array(this.ids.length);
    for (const targets of this.#outgoing) {
      for (const target of targets) {
        this.#incoming[target] = (this.#incoming[target] as number) + 1;
      }
    }
    this.#eventSubProcessesByScope = this.#findEventSubProcesses();
    this.#starts = this.#findStarts();

    const edges = this.#outgoing.reduce((sum, targets) => sum + targets.length, 0);
    const baseBytes = GRAPH_BYTES + this.ids.length * NODE_BYTES + edges * EDGE_BYTES + this.ids.reduce((sum, id) => sum + 2 * id.length, 0);
    const forks = this.#findForks();
    const setBytes = BIT_SET_BYTES + 4 * Math.ceil(this.ids.length / 32);
    const branches = forks.reduce((sum, fork) => sum + fork.length, 0);
    this.coarseConcurrency = branches * setBytes > options.maxConcurrencyBytes;
    this.#forkRegions = this.coarseConcurrency ? [] : forks.map((fork) => this.#branchRegions(fork));
    this.#everything = this.coarseConcurrency ? this.#reachable(this.#topLevelEntries()) : undefined;
    this.estimatedBytes = baseBytes + (this.coarseConcurrency ? 1 : branches) * setBytes;
  }

  /** Builds the graph of one process of a parsed definition. */
  static fromModel(model: DefinitionModel, options: GraphOptions): ProcessGraph {
    return new ProcessGraph(model, options);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Returns the node of an activity id; undefined when the process has no such activity. */
  indexOf(activityId: string): number | undefined {
    return this.#index.get(activityId);
  }

  isObserved(index: number): boolean {
    return this.#observed[index] === 1;
  }

  /**
   * Returns the observed activities that may follow `from` (a node or
   * {@link START}) in the same process instance, with prior weights: the
   * share of a walk that splits evenly at every branching reaches each one
   * first. Activities possible only through parallel branches share
   * {@link CONCURRENT_SHARE}. The list is empty when nothing observed can follow.
   */
  prior(from: number): GraphPrior {
    const sources = from === START ? this.#topLevelEntries() : [from];
    const { reached, calls } = this.#walk(sources, from !== START);
    const forward = this.#observedClosure(sources, from !== START);
    const concurrent = from === START ? this.#eventSubProcessTasks() : this.#concurrentWith(from);

    const successors: Successor[] = [];
    let forwardMass = 0;
    for (const index of forward) {
      const mass = Math.max(reached.get(index) ?? 0, MIN_WEIGHT);
      successors.push({ index, weight: mass });
      forwardMass += mass;
    }
    const extra = [...concurrent].filter((index) => !forward.has(index));
    const extraShare = extra.length === 0 ? 0 : (forward.size === 0 ? 1 : CONCURRENT_SHARE);
    for (const successor of successors) {
      successor.weight = (successor.weight / forwardMass) * (1 - extraShare);
    }
    for (const index of extra) {
      successors.push({ index, weight: extraShare / extra.length });
    }

    successors.sort((left, right) => right.weight - left.weight || left.index - right.index);
    const callList = [...calls].map(([calledElement, chance]) => ({ calledElement, chance: Math.min(1, chance) }));
    return { successors, calls: callList };
  }

  /**
   * Estimates for every node the chance that an instance visits it: choices
   * (exclusive, event-based, inclusive and complex gateways) split the
   * chance evenly, every other node passes it to all its outgoing flows, and
   * boundary events get {@link BOUNDARY_SHARE}. Capped at 1 per node.
   */
  visitChances(): Float64Array {
    const chances = new Float64Array(this.ids.length);
    const queue = new MassQueue(this.ids.length);
    const entries = this.#topLevelEntries();
    for (const entry of entries) {
      queue.add(entry, 1 / entries.length);
    }

    for (let steps = STEPS_PER_ELEMENT * (this.ids.length + 1); steps > 0 && queue.size > 0; steps -= 1) {
      const [node, mass] = queue.take();
      const added = Math.min(mass, 1 - (chances[node] as number));
      if (added < MASS_EPSILON) {
        continue;
      }
      chances[node] = (chances[node] as number) + added;

      const boundaries = this.#boundaryEvents(node);
      const flows = this.#flowTargets(node);
      const flowMass = boundaries.length === 0 ? added : added * (1 - BOUNDARY_SHARE);
      for (const boundary of boundaries) {
        queue.add(boundary, (added * BOUNDARY_SHARE) / boundaries.length);
      }
      const each = CHOOSING_GATEWAYS.has(this.#types[node] as string) ? flowMass / Math.max(flows.length, 1) : flowMass;
      for (const target of flows) {
        queue.add(target, each);
      }
    }
    return chances;
  }

  /**
   * Walks from the sources, splitting the mass evenly at every branching,
   * and returns the mass that lands on each observed node and on each call
   * activity. With `fromSource`, the sources themselves are left, not landed on.
   */
  #walk(sources: readonly number[], fromSource: boolean): { reached: Map<number, number>; calls: Map<string, number> } {
    const reached = new Map<number, number>();
    const calls = new Map<string, number>();
    const queue = new MassQueue(this.ids.length);
    if (fromSource) {
      this.#spread(sources[0] as number, 1, queue);
    } else {
      for (const source of sources) {
        queue.add(source, 1 / sources.length);
      }
    }

    for (let steps = STEPS_PER_ELEMENT * (this.ids.length + 1); steps > 0 && queue.size > 0; steps -= 1) {
      const [node, mass] = queue.take();
      if (mass < MASS_EPSILON) {
        continue;
      }
      if (this.#observed[node] === 1) {
        reached.set(node, (reached.get(node) ?? 0) + mass);
        continue;
      }
      const calledElement = this.#calledElements[node];
      if (calledElement !== undefined) {
        calls.set(calledElement, (calls.get(calledElement) ?? 0) + mass);
      }
      this.#spread(node, mass, queue);
    }
    return { reached, calls };
  }

  /** Passes a node's mass on: {@link BOUNDARY_SHARE} to its boundary events, the rest evenly to its flows. */
  #spread(node: number, mass: number, queue: MassQueue): void {
    const boundaries = this.#boundaryEvents(node);
    const flows = this.#flowTargets(node);
    const flowMass = boundaries.length === 0 ? mass : mass * (1 - BOUNDARY_SHARE);
    for (const boundary of boundaries) {
      queue.add(boundary, (mass * BOUNDARY_SHARE) / boundaries.length);
    }
    for (const target of flows) {
      queue.add(target, flowMass / flows.length);
    }
  }

  /** Returns the observed nodes that the first observed step from the sources can reach. */
  #observedClosure(sources: readonly number[], fromSource: boolean): Set<number> {
    const found = new Set<number>();
    const seen = new Set<number>();
    const stack = fromSource ? this.#nextNodes(sources[0] as number) : [...sources];
    while (stack.length > 0) {
      const node = stack.pop() as number;
      if (seen.has(node)) {
        continue;
      }
      seen.add(node);
      if (this.#observed[node] === 1) {
        found.add(node);
        continue;
      }
      stack.push(...this.#nextNodes(node));
    }
    return found;
  }

  /**
   * Observed nodes that may run at the same time as `node`: those in
   * another branch of a fork one of whose branches reaches `node`. In coarse
   * mode, every observed node reachable from a start.
   */
  #concurrentWith(node: number): Set<number> {
    const found = new Set<number>();
    if (this.#everything !== undefined) {
      this.#collectObserved(this.#everything, found);
      return found;
    }

    const word = node >>> 5;
    const bit = 1 << (node & 31);
    for (const regions of this.#forkRegions) {
      const containing = regions.filter((region) => ((region[word] as number) & bit) !== 0);
      if (containing.length === 0) {
        continue;
      }
      for (const region of regions) {
        if (containing.length > 1 || !containing.includes(region)) {
          this.#collectObserved(region, found);
        }
      }
    }
    return found;
  }

  /** Observed nodes inside the event sub-processes of the top level, which may start with the instance. */
  #eventSubProcessTasks(): Set<number> {
    const found = new Set<number>();
    for (const container of this.#eventSubProcesses(-1)) {
      this.#collectObserved(this.#reachable([container]), found);
    }
    return found;
  }

  #collectObserved(region: Uint32Array, found: Set<number>): void {
    for (let index = 0; index < this.ids.length; index += 1) {
      if (this.#observed[index] === 1 && ((region[index >>> 5] as number) & (1 << (index & 31))) !== 0) {
        found.add(index);
      }
    }
  }

  /**
   * Returns the bit set of every node reachable from the sources, the
   * sources included. A node in `stops` is included but not passed.
   */
  #reachable(sources: readonly number[], stops?: ReadonlySet<number>): Uint32Array {
    const bits = new Uint32Array(Math.ceil(this.ids.length / 32));
    const stack = [...sources];
    while (stack.length > 0) {
      const node = stack.pop() as number;
      const word = node >>> 5;
      const bit = 1 << (node & 31);
      if (((bits[word] as number) & bit) !== 0) {
        continue;
      }
      bits[word] = (bits[word] as number) | bit;
      if (stops?.has(node) === true) {
        continue;
      }
      stack.push(...this.#nextNodes(node));
      if (CONTAINER_TYPES.has(this.#types[node] as string)) {
        stack.push(...this.#entries(node));
      }
    }
    return bits;
  }

  /**
   * Returns the region of each branch of a fork. A branch's region ends at
   * the parallel joins (parallel gateways with several incoming flows) that
   * another branch of the same fork also reaches: a token waits there for
   * the others, so nothing after the join runs beside them.
   */
  #branchRegions(branches: readonly (readonly number[])[]): Uint32Array[] {
    const full = branches.map((branch) => this.#reachable(branch));
    const joins = new Set<number>();
    for (let node = 0; node < this.ids.length; node += 1) {
      if (!JOINING_GATEWAYS.has(this.#types[node] as string) || (this.#incoming[node] as number) < 2) {
        continue;
      }
      const reachedBy = full.filter((region) => ((region[node >>> 5] as number) & (1 << (node & 31))) !== 0).length;
      if (reachedBy > 1) {
        joins.add(node);
      }
    }
    return joins.size === 0 ? full : branches.map((branch) => this.#reachable(branch, joins));
  }

  /**
   * Finds the forks: nodes after which several branches may run at once,
   * each as the list of its branches' first nodes. A node with several
   * outgoing flows, unless it is an exclusive or event-based gateway, has a
   * branch per flow. An activity with boundary events has one for its flows
   * and one per event. A scope with event sub-processes has one for its
   * start nodes and one per event sub-process. A scope without a start
   * event has one per node without incoming flows.
   */
  #findForks(): number[][][] {
    const forks: number[][][] = [];
    for (let node = 0; node < this.ids.length; node += 1) {
      const type = this.#types[node] as string;
      const flows = this.#outgoing[node] as readonly number[];
      const boundaries = this.#boundaries[node] as readonly number[];
      const parallelFlows = flows.length > 1 && !SINGLE_PATH_GATEWAYS.has(type);
      if (!parallelFlows && boundaries.length === 0) {
        continue;
      }
      const flowBranches = parallelFlows ? flows.map((target) => this.#enter(target)) : [this.#flowTargets(node)];
      forks.push([...flowBranches, ...boundaries.map((boundary) => [boundary])]);
    }
    for (const [scope, eventSubProcesses] of this.#eventSubProcessesByScope) {
      const entries = scope === -1 ? this.#topLevelEntries() : this.#entries(scope).flatMap((start) => this.#enter(start));
      forks.push([entries, ...eventSubProcesses.map((container) => [container])]);
    }
    for (const starts of this.#starts.values()) {
      // Without a start event, every node without incoming flows starts at once.
      if (starts.length > 1 && starts.every((start) => this.#types[start] !== 'startEvent')) {
        forks.push(starts.map((start) => this.#enter(start)));
      }
    }
    return forks;
  }

  /** Nodes that can come right after a node: its flows' targets (entered) and its boundary events. */
  #nextNodes(node: number): number[] {
    return [...this.#flowTargets(node), ...this.#boundaryEvents(node)];
  }

  /**
   * Targets of a node's outgoing flows, with sub-processes entered at their
   * start nodes. A node without outgoing flows leaves its sub-process:
   * the walk continues with the sub-process's own flows. At the top level it
   * ends the path.
   */
  #flowTargets(node: number): number[] {
    let current = node;
    while ((this.#outgoing[current] as readonly number[]).length === 0) {
      const parent = this.#parents[current] as number;
      if (parent < 0) {
        return [];
      }
      current = parent;
    }
    return (this.#outgoing[current] as readonly number[]).flatMap((target) => this.#enter(target));
  }

  /** Returns the nodes a token reaches when it enters `node`: the start nodes of a sub-process, or the node itself. */
  #enter(node: number): number[] {
    if (!CONTAINER_TYPES.has(this.#types[node] as string)) {
      return [node];
    }
    const starts = this.#entries(node);
    return starts.length === 0 ? [node] : starts.flatMap((start) => this.#enter(start));
  }

  #entries(container: number): readonly number[] {
    return this.#starts.get(container) ?? [];
  }

  /** Start nodes of the top level, entered, for {@link START}. */
  #topLevelEntries(): number[] {
    return (this.#starts.get(-1) ?? []).flatMap((start) => this.#enter(start));
  }

  /** Boundary events of a node and of every sub-process around it. */
  #boundaryEvents(node: number): number[] {
    const events: number[] = [];
    for (let current = node; current >= 0; current = this.#parents[current] as number) {
      events.push(...(this.#boundaries[current] as readonly number[]));
    }
    return events;
  }

  /**
   * Start nodes of each scope: the start events without incoming flows, or,
   * when a scope has none, every node without incoming flows. Boundary
   * events and event sub-processes are never start nodes.
   */
  #findStarts(): Map<number, number[]> {
    const byScope = new Map<number, number[]>();
    for (let node = 0; node < this.ids.length; node += 1) {
      const scope = this.#parents[node] as number;
      if (this.#incoming[node] === 0 && this.#types[node] !== 'boundaryEvent') {
        const candidates = byScope.get(scope) ?? [];
        candidates.push(node);
        byScope.set(scope, candidates);
      }
    }

    const starts = new Map<number, number[]>();
    for (const [scope, candidates] of byScope) {
      const startEvents = candidates.filter((node) => this.#types[node] === 'startEvent');
      starts.set(scope, startEvents.length > 0 ? startEvents : candidates.filter((node) => !this.#isEventSubProcess(node)));
    }
    for (let node = 0; node < this.ids.length; node += 1) {
      if (CONTAINER_TYPES.has(this.#types[node] as string) && !starts.has(node)) {
        starts.set(node, []);
      }
    }
    return starts;
  }

  #eventSubProcesses(scope: number): readonly number[] {
    return this.#eventSubProcessesByScope.get(scope) ?? [];
  }

  /**
   * Finds the event sub-processes of every scope. The model does not keep
   * `triggeredByEvent`, so a sub-process without incoming and outgoing flows
   * counts as one.
   */
  #findEventSubProcesses(): Map<number, number[]> {
    const byScope = new Map<number, number[]>();
    for (let node = 0; node < this.ids.length; node += 1) {
      if (this.#isEventSubProcess(node)) {
        const scope = this.#parents[node] as number;
        byScope.set(scope, [...(byScope.get(scope) ?? []), node]);
      }
    }
    return byScope;
  }

  #isEventSubProcess(node: number): boolean {
    return CONTAINER_TYPES.has(this.#types[node] as string)
      && (this.#outgoing[node] as readonly number[]).length === 0
      && this.#incoming[node] === 0;
  }
}

/** Selects the activities of one process, or of every process when `processId` is undefined or unknown. */
function selectActivities(model: DefinitionModel, processId: string | undefined): Activity[] {
  const all = [...model.activities.values()];
  if (processId === undefined || !model.processes.some((process) => process.id === processId)) {
    return all;
  }
  return all.filter((activity) => activity.processId === processId);
}

/**
 * A first-in first-out queue of nodes with the mass waiting at each. Mass
 * added to a node already waiting joins it, so the branches of a gateway
 * merge at the join instead of multiplying the paths.
 */
class MassQueue {
  readonly #pending: Float64Array;
  readonly #waiting: Uint8Array;
  #nodes: number[] = [];
  #head = 0;

  constructor(nodes: number) {
    this.#pending = new Float64Array(nodes);
    this.#waiting = new Uint8Array(nodes);
  }

  get size(): number {
    return this.#nodes.length - this.#head;
  }

  add(node: number, mass: number): void {
    this.#pending[node] = (this.#pending[node] as number) + mass;
    if (this.#waiting[node] === 0) {
      this.#waiting[node] = 1;
      this.#nodes.push(node);
    }
  }

  /** Removes the oldest waiting node and returns it with its mass. */
  take(): [number, number] {
    const node = this.#nodes[this.#head] as number;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#nodes.length) {
      this.#nodes = this.#nodes.slice(this.#head);
      this.#head = 0;
    }
    const mass = this.#pending[node] as number;
    this.#pending[node] = 0;
    this.#waiting[node] = 0;
    return [node, mass];
  }
}
