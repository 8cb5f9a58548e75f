/**
 * In-process counters and timings behind `getMetrics()`. Durations are
 * recorded in milliseconds and reported in seconds.
 */

import type { Operation } from './names.ts';

/** Timed operations of the task pipeline; `OPERATIONS` in names.ts describes each. */
export type { Operation };

export type OutcomeKind = 'complete' | 'bpmnError' | 'failure';

/** Calls and time of one operation. */
export interface Timing {
  count: number;
  totalMs: number;
}

/** A count that a caller keeps hold of, so adding to it takes no lookup. */
export interface Tally {
  count: number;
}

export class PipelineMetrics {
  readonly #timings = new Map<Operation, Timing>();
  /** Task counts keyed `outcome\0topic\0service`. */
  readonly #outcomes = new Map<string, Tally>();
  readonly #apiCalls = new Map<string, Tally>();
  readonly #counters = new Map<string, number>();
  readonly #processInstances = new Set<string>();
  /** Bound on remembered process instance ids, so counting them cannot grow without limit. */
  readonly #maxRemembered: number;
  #processInstancesSeen = 0;
  #tasksProcessed = 0;

  constructor(maxRememberedInstances = 100_000) {
    this.#maxRemembered = maxRememberedInstances;
  }

  /** Returns the timing of an operation, to pass to {@link recordDuration}. */
  timing(operation: Operation): Timing {
    let timing = this.#timings.get(operation);
    if (timing === undefined) {
      timing = { count: 0, totalMs: 0 };
      this.#timings.set(operation, timing);
    }
    return timing;
  }

  recordDuration(timing: Timing, milliseconds: number): void {
    timing.count += 1;
    timing.totalMs += milliseconds;
  }

  /** Returns the tally of tasks with one outcome, topic and service, to pass to {@link recordTask}. */
  outcomeTally(outcome: OutcomeKind, topic: string, service: string): Tally {
    return tallyOf(this.#outcomes, `${outcome}\u0000${topic}\u0000${service}`);
  }

  /** Counts one finished task in its outcome's tally, and its process instance once. */
  recordTask(outcome: Tally, processInstanceId: string): void {
    this.#tasksProcessed += 1;
    outcome.count += 1;

    if (!this.#processInstances.has(processInstanceId)) {
      this.#processInstancesSeen += 1;
      if (this.#processInstances.size >= this.#maxRemembered) {
        const oldest = this.#processInstances.values().next().value as string;
        this.#processInstances.delete(oldest);
      }
      this.#processInstances.add(processInstanceId);
    }
  }

  /** Returns the tally of calls to the engine or a service, e.g. `engine:complete` or `service:inventory`. Callers add to its `count`. */
  apiCallTally(name: string): Tally {
    return tallyOf(this.#apiCalls, name);
  }

  /** Adds one to a named counter, e.g. `lockExtensions`. */
  count(name: string): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + 1);
  }

  /** The named counters; a counter never incremented is absent. */
  counters(): Record<string, number> {
    return Object.fromEntries(this.#counters);
  }

  get tasksProcessed(): number {
    return this.#tasksProcessed;
  }

  /** Distinct process instances whose tasks were processed (an instance evicted from memory may count twice). */
  get processInstancesSeen(): number {
    return this.#processInstancesSeen;
  }

  /** Average duration per operation in seconds, for the operations recorded at least once. */
  averageSeconds(): Record<string, number> {
    const averages: Record<string, number> = {};
    for (const [operation, timing] of this.#timings) {
      if (timing.count > 0) {
        averages[operation] = timing.totalMs / timing.count / 1000;
      }
    }
    return averages;
  }

  /** Task counts by outcome, summed over topics and services. */
  outcomeTotals(): Record<OutcomeKind, number> {
    const totals: Record<OutcomeKind, number> = { complete: 0, bpmnError: 0, failure: 0 };
    for (const [key, { count }] of this.#outcomes) {
      const outcome = key.split('\u0000')[0] as OutcomeKind;
      totals[outcome] += count;
    }
    return totals;
  }

  /** Task counts keyed `outcome/topic/service`. */
  outcomes(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const [key, { count }] of this.#outcomes) {
      if (count > 0) {
        result[key.split('\u0000').join('/')] = count;
      }
    }
    return result;
  }

  apiCalls(): Record<string, number> {
    return countsOf(this.#apiCalls);
  }
}

/** Returns the tally of a key, adding one at 0 the first time. */
export function tallyOf(tallies: Map<string, Tally>, key: string): Tally {
  let tally = tallies.get(key);
  if (tally === undefined) {
    tally = { count: 0 };
    tallies.set(key, tally);
  }
  return tally;
}

/** Returns the tallies that counted anything, as a plain record. */
export function countsOf(tallies: ReadonlyMap<string, Tally>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [key, { count }] of tallies) {
    if (count > 0) {
      counts[key] = count;
    }
  }
  return counts;
}
