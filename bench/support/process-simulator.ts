/**
 * Runs process instances of one BPMN process as tokens over its graph, with
 * fixed branch probabilities, and returns the order in which task
 * activities are reached. The benchmark uses it as a workload whose best
 * possible prediction is known.
 *
 * Semantics, simplified from BPMN where the parsed model does not carry the
 * facts:
 * - Exclusive, event-based, inclusive and complex gateways, and any other
 *   node with several outgoing flows, take one flow, drawn by the branch
 *   probabilities (conditions are not in the model).
 * - A parallel gateway with several outgoing flows starts a token per flow;
 *   one with several incoming flows waits for a token on each.
 * - A sub-process starts a token at its start event (or at each node without
 *   incoming flows when it has none) and ends when its last token ends.
 * - An activity with boundary events leaves through one of them with a
 *   fixed chance, interrupting it; event sub-processes never start.
 * - Call activities and every other node pass the token on at once.
 * At each step one token, drawn at random, moves, so parallel branches
 * interleave at random. A token reaching a task activity makes a task
 * arrive; its next step completes the task.
 */
import type { Activity, DefinitionModel } from '../../src/definitions/model.ts';

/** Activity types whose tasks reach the simulated daemon. */
export const TASK_TYPES: ReadonlySet<string> = new Set([
  'task', 'serviceTask', 'userTask', 'manualTask', 'scriptTask', 'businessRuleTask', 'sendTask', 'receiveTask',
]);

const CONTAINERS: ReadonlySet<string> = new Set(['subProcess', 'transaction', 'adHocSubProcess']);
const CHOICES: ReadonlySet<string> = new Set(['exclusiveGateway', 'eventBasedGateway', 'inclusiveGateway', 'complexGateway']);

/** Steps and task arrivals per instance at most, so loops end. */
const MAX_STEPS = 4_000;
const MAX_TASKS = 300;

/** A seeded pseudo-random source (mulberry32), so every run draws the same workload. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Scope {
  container: string | undefined;
  parent: Scope | undefined;
  /** Tokens alive in the scope, those waiting at a join included. */
  active: number;
  /** Tokens waiting per join gateway. */
  waiting: Map<string, number>;
}

interface Token {
  node: string;
  scope: Scope;
  /** `arrive`: the token just reached the node; `leave`: the node is done and the token moves on. */
  phase: 'arrive' | 'leave';
}

/** One process of a definition with drawn branch probabilities. */
export class ProcessWorkload {
  readonly processId: string;
  readonly #activities: ReadonlyMap<string, Activity>;
  readonly #incoming = new Map<string, number>();
  readonly #boundaries = new Map<string, string[]>();
  readonly #children = new Map<string | undefined, Activity[]>();
  /** Branch probabilities of each choosing node, by outgoing flow. */
  readonly branchProbabilities = new Map<string, number[]>();
  /** Chance that an activity with boundary events leaves through one of them. */
  readonly boundaryChances = new Map<string, number>();
  /** The random source of the instance being run. */
  #random: () => number = Math.random;

  constructor(model: DefinitionModel, processId: string, random: () => number) {
    this.processId = processId;
    const activities = [...model.activities.values()].filter((activity) => activity.processId === processId);
    this.#activities = new Map(activities.map((activity) => [activity.id, activity]));
    for (const activity of activities) {
      for (const target of activity.outgoing) {
        this.#incoming.set(target, (this.#incoming.get(target) ?? 0) + 1);
      }
      if (activity.type === 'boundaryEvent' && activity.attachedToRef !== undefined && this.#activities.has(activity.attachedToRef)) {
        this.#boundaries.set(activity.attachedToRef, [...(this.#boundaries.get(activity.attachedToRef) ?? []), activity.id]);
      }
      this.#children.set(activity.parentId, [...(this.#children.get(activity.parentId) ?? []), activity]);
    }

    for (const activity of activities) {
      if (activity.outgoing.length > 1 && (CHOICES.has(activity.type) || activity.type !== 'parallelGateway')) {
        const draws = activity.outgoing.map(() => -Math.log(1 - random()));
        const sum = draws.reduce((total, draw) => total + draw, 0);
        this.branchProbabilities.set(activity.id, draws.map((draw) => draw / sum));
      }
      if (this.#boundaries.has(activity.id) && !CONTAINERS.has(activity.type)) {
        this.boundaryChances.set(activity.id, 0.02 + 0.13 * random());
      }
    }
  }

  /** Task activities of the process. */
  get taskActivities(): string[] {
    return [...this.#activities.values()].filter((activity) => TASK_TYPES.has(activity.type)).map((activity) => activity.id);
  }

  /** Runs one instance and returns the task activities in the order their tasks arrive. */
  run(random: () => number): string[] {
    this.#random = random;
    const arrivals: string[] = [];
    const root: Scope = { container: undefined, parent: undefined, active: 0, waiting: new Map() };
    const tokens: Token[] = [];
    for (const node of this.#chooseStarts(undefined, random)) {
      this.#spawn(tokens, root, node);
    }

    for (let step = 0; step < MAX_STEPS && tokens.length > 0 && arrivals.length < MAX_TASKS; step += 1) {
      const position = Math.floor(random() * tokens.length);
      const token = tokens[position] as Token;
      if (token.phase === 'arrive' && TASK_TYPES.has(this.#type(token.node))) {
        arrivals.push(token.node);
        token.phase = 'leave';
        continue;
      }
      tokens.splice(position, 1);
      this.#leave(tokens, token, random);
    }
    return arrivals;
  }

  /** Moves a token off its node: through a boundary event, along one or all flows, or out of its scope. */
  #leave(tokens: Token[], token: Token, random: () => number): void {
    const activity = this.#activities.get(token.node) as Activity;
    const boundaries = this.#boundaries.get(activity.id);
    const boundaryChance = this.boundaryChances.get(activity.id) ?? 0;
    if (boundaries !== undefined && boundaryChance > 0 && random() < boundaryChance) {
      this.#arrive(tokens, token.scope, boundaries[Math.floor(random() * boundaries.length)] as string);
      return;
    }

    const targets = activity.outgoing.filter((target) => this.#activities.has(target));
    if (targets.length === 0) {
      this.#end(tokens, token.scope);
      return;
    }
    if (activity.type === 'parallelGateway' && targets.length > 1) {
      token.scope.active += targets.length - 1;
      for (const target of targets) {
        this.#arrive(tokens, token.scope, target);
      }
      return;
    }
    const probabilities = this.branchProbabilities.get(activity.id);
    const choice = probabilities?.length === targets.length ? pick(probabilities, random) : Math.floor(random() * targets.length);
    this.#arrive(tokens, token.scope, targets[choice] as string);
  }

  /** A token of `scope` reaches `node`: a join may hold it, a sub-process opens a scope, any other node takes it. */
  #arrive(tokens: Token[], scope: Scope, node: string): void {
    const type = this.#type(node);
    const incoming = this.#incoming.get(node) ?? 0;
    if (type === 'parallelGateway' && incoming > 1) {
      const waiting = (scope.waiting.get(node) ?? 0) + 1;
      if (waiting < incoming) {
        scope.waiting.set(node, waiting);
        return;
      }
      scope.waiting.delete(node);
      scope.active -= incoming - 1;
    }

    if (CONTAINERS.has(type)) {
      const starts = this.#chooseStarts(node, this.#random);
      if (starts.length > 0) {
        const inner: Scope = { container: node, parent: scope, active: 0, waiting: new Map() };
        for (const start of starts) {
          this.#spawn(tokens, inner, start);
        }
        return;
      }
    }
    tokens.push({ node, scope, phase: 'arrive' });
  }

  /** A token ends in its scope; the scope's last token completes its sub-process. */
  #end(tokens: Token[], scope: Scope): void {
    scope.active -= 1;
    if (scope.active > 0 || scope.container === undefined || scope.parent === undefined) {
      return;
    }
    tokens.push({ node: scope.container, scope: scope.parent, phase: 'leave' });
  }

  #spawn(tokens: Token[], scope: Scope, node: string): void {
    scope.active += 1;
    this.#arrive(tokens, scope, node);
  }

  /**
   * Returns the nodes where a scope's tokens start: one of its start events
   * (several are alternatives, such as message and timer starts), or, when
   * it has none, every node without incoming flows.
   */
  #chooseStarts(container: string | undefined, random: () => number): string[] {
    const starts = this.#starts(container);
    const startEvents = starts.filter((node) => this.#type(node) === 'startEvent');
    return startEvents.length > 0 ? [startEvents[Math.floor(random() * startEvents.length)] as string] : starts;
  }

  /** Start nodes of a scope: its start events without incoming flows, else every node without incoming flows. */
  #starts(container: string | undefined): string[] {
    const children = (this.#children.get(container) ?? []).filter((activity) => (this.#incoming.get(activity.id) ?? 0) === 0 && activity.type !== 'boundaryEvent');
    const startEvents = children.filter((activity) => activity.type === 'startEvent');
    const chosen = startEvents.length > 0 ? startEvents : children.filter((activity) => !(CONTAINERS.has(activity.type) && activity.outgoing.length === 0));
    return chosen.map((activity) => activity.id);
  }

  #type(node: string): string {
    return this.#activities.get(node)?.type ?? '';
  }
}

function pick(probabilities: readonly number[], random: () => number): number {
  let draw = random();
  for (let index = 0; index < probabilities.length; index += 1) {
    draw -= probabilities[index] as number;
    if (draw < 0) {
      return index;
    }
  }
  return probabilities.length - 1;
}
