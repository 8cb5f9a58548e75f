import type { TopicOptions } from '../config/types.ts';

/**
 * The slots a fetched task occupies until its outcome is reported: first
 * one slot in each lane its topic may route to, then, once routed, one slot
 * in the lane it took.
 */
export interface Hold {
  /** The configuration entry the task was fetched for. */
  topic: TopicOptions;
  lanes: string[];
}

/** The request of one fetch: these topics, at most `maxTasks` tasks in all. */
export interface FetchPlan {
  topics: TopicOptions[];
  maxTasks: number;
  /** The lanes reserved for the fetch, `maxTasks` slots in each. */
  lanes: string[];
}

/** Source of a lane's capacity: its slot limit, and how many new tasks its breaker admits. */
export interface LaneCapacity {
  slotLimit(lane: string): number;
  breakerAdmits(lane: string): number;
}

/**
 * Counts the slots that fetched tasks occupy in each lane (a service, or the
 * in-process handlers), so the fetch loops lock no more tasks than the
 * lanes can start.
 *
 * The rule: a lane's free capacity is its slot limit (`maxConcurrent`,
 * times `batch.maxSize` for a batch endpoint) minus the tasks it holds. A
 * breaker lowers the limit: to zero while open, and to one while half-open
 * with no probe out, so a half-open lane with no task fetches one
 * task as its probe. A
 * topic may be fetched when every lane it may route to has free capacity:
 * its configured service or handler, plus every service its activities
 * were seen to route to. A fetch asks for at most the smallest free
 * capacity among the lanes of its topics, and reserves that many slots in
 * each of them until the engine answers, so fetches running at the same
 * time cannot oversubscribe a lane.
 *
 * NOTE: a topic whose routes are not known yet (no configured service, or
 * an activity that names a service not seen before) can overfill that
 * service once, by at most one fetch's worth of tasks, before the ledger
 * learns the route.
 */
export class CapacityLedger {
  readonly #capacity: LaneCapacity;
  readonly #held = new Map<string, number>();
  /** The lanes of each topic entry; entries that share a topic name (one per tenant, say) have lanes of their own. */
  readonly #topicLanes = new Map<TopicOptions, Set<string>>();
  readonly #waiters = new Set<() => void>();
  readonly #reportLimit: number;
  #reporting = 0;

  /**
   * `reportLimit` bounds the tasks whose dispatch has ended and whose outcome
   * is still on its way to the engine. While that many are pending, no fetch
   * starts, so a slow engine slows fetching down instead of letting locked
   * tasks pile up. @default the sum of the slot limits of the topics' lanes
   */
  constructor(capacity: LaneCapacity, topics: readonly TopicOptions[], laneOf: (topic: TopicOptions) => string | undefined, reportLimit?: number) {
    this.#capacity = capacity;
    const knownLanes = new Set(topics.map(laneOf).filter((lane) => lane !== undefined));
    this.#reportLimit = reportLimit ?? Math.max(1, [...knownLanes].reduce((sum, lane) => sum + capacity.slotLimit(lane), 0));
    for (const topic of topics) {
      const lane = laneOf(topic);
      this.#topicLanes.set(topic, new Set(lane === undefined ? [] : [lane]));
    }
  }

  /** Free slots of a lane, as the fetch loops see it. */
  free(lane: string): number {
    const held = this.#held.get(lane) ?? 0;
    const free = Math.min(this.#capacity.slotLimit(lane), this.#capacity.breakerAdmits(lane)) - held;
    return Math.max(0, free);
  }

  /** Tasks a lane holds: fetched and not yet reported. */
  held(lane: string): number {
    return this.#held.get(lane) ?? 0;
  }

  /**
   * Plans a fetch over `topics` and reserves its slots; undefined when no
   * topic may be fetched now. `maxTasks` caps the request.
   */
  plan(topics: readonly TopicOptions[], maxTasks: number): FetchPlan | undefined {
    if (this.#reporting >= this.#reportLimit) {
      return undefined;
    }
    const included: TopicOptions[] = [];
    const lanes = new Set<string>();
    let allowed = maxTasks;

    for (const topic of topics) {
      const topicLanes = this.#topicLanes.get(topic) ?? new Set<string>();
      const topicFree = Math.min(maxTasks, ...[...topicLanes].map((lane) => this.free(lane)));
      if (topicFree <= 0) {
        continue;
      }
      included.push(topic);
      for (const lane of topicLanes) {
        lanes.add(lane);
      }
      allowed = Math.min(allowed, topicFree);
    }
    if (included.length === 0) {
      return undefined;
    }

    const plan = { topics: included, maxTasks: allowed, lanes: [...lanes] };
    this.#add(plan.lanes, allowed);
    return plan;
  }

  /** Settles a fetch: keeps one slot per lane for each task received and releases the rest. */
  settle(plan: FetchPlan, received: number): void {
    this.#add(plan.lanes, -(plan.maxTasks - received));
  }

  /** Returns the hold of one task received by a fetch that {@link settle} kept slots for. */
  holdFor(plan: FetchPlan, topic: TopicOptions): Hold {
    return { topic, lanes: [...plan.lanes] };
  }

  /** Moves a hold to the lane its task was routed to, and remembers that lane for the topic. */
  routed(hold: Hold, lane: string): void {
    this.#topicLanes.get(hold.topic)?.add(lane);
    const others = hold.lanes.filter((candidate) => candidate !== lane);
    this.#add(others, -1);
    if (!hold.lanes.includes(lane)) {
      this.#add([lane], 1);
    }
    hold.lanes = [lane];
  }

  /** Releases a hold; safe to call twice. */
  release(hold: Hold): void {
    this.#add(hold.lanes, -1);
    hold.lanes = [];
  }

  /**
   * Moves a task from its lane to the pending reports: its dispatch ended, so
   * its slot is free for the next task while its outcome goes to the engine.
   * Returns the function that ends the report; safe to call twice.
   */
  reporting(hold: Hold): () => void {
    this.release(hold);
    this.#reporting += 1;
    let ended = false;
    return () => {
      if (ended) {
        return;
      }
      ended = true;
      this.#reporting -= 1;
      this.notify();
    };
  }

  /** Outcomes on their way to the engine. */
  get pendingReports(): number {
    return this.#reporting;
  }

  /** Resolves at the next release of slots or {@link notify}. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  /** Wakes the fetch loops waiting for capacity, e.g. after a breaker changed state. */
  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) {
      wake();
    }
  }

  #add(lanes: readonly string[], delta: number): void {
    if (delta === 0) {
      return;
    }
    for (const lane of lanes) {
      this.#held.set(lane, (this.#held.get(lane) ?? 0) + delta);
    }
    if (delta < 0) {
      this.notify();
    }
  }
}
