/**
 * In-process counters and timings behind `getMetrics()`. Durations are
 * recorded in milliseconds and reported in seconds.
 */

import type { Operation } from './names.ts';

/** Timed operations of the task pipeline; `OPERATIONS` in names.ts describes each. */
export type { Operation };

export type OutcomeKind = 'complete' | 'bpmnError' | 'failure';

interface Timing {
  count: number;
  totalMs: number;
}

export class PipelineMetrics {
  readonly #timings = new Map<Operation, Timing>();
  readonly #outcomes = new Map<string, number>();
  readonly #apiCalls = new Map<string, number>();
  readonly #counters = new Map<string, number>();
  readonly #processInstances = new Set<string>();
  /** Bound on remembered process instance ids, so counting them cannot grow without limit. */
  readonly #maxRemembered: number;
  #processInstancesSeen = 0;
  #tasksProcessed = 0;

  constructor(maxRememberedInstances = 100_000) {
    this.#maxRemembered = maxRememberedInstances;
  }

  recordDuration(operation: Operation, milliseconds: number): void {
    const timing = this.#timings.get(operation) ?? { count: 0, totalMs: 0 };
    timing.count += 1;
    timing.totalMs += milliseconds;
    this.#timings.set(operation, timing);
  }

  /** Counts one finished task by outcome, topic and service, and its process instance once. */
  recordTask(outcome: OutcomeKind, topic: string, service: string, processInstanceId: string): void {
    this.#tasksProcessed += 1;
    const key = `${outcome}\u0000${topic}\u0000${service}`;
    this.#outcomes.set(key, (this.#outcomes.get(key) ?? 0) + 1);

    if (!this.#processInstances.has(processInstanceId)) {
      this.#processInstancesSeen += 1;
      if (this.#processInstances.size >= this.#maxRemembered) {
        const oldest = this.#processInstances.values().next().value as string;
        this.#processInstances.delete(oldest);
      }
      this.#processInstances.add(processInstanceId);
    }
  }

  /** Counts one call to the engine or a service, e.g. `engine:complete` or `service:inventory`. */
  recordApiCall(name: string): void {
    this.#apiCalls.set(name, (this.#apiCalls.get(name) ?? 0) + 1);
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

  /** Average duration per operation in seconds. */
  averageSeconds(): Record<string, number> {
    const averages: Record<string, number> = {};
    for (const [operation, timing] of this.#timings) {
      averages[operation] = timing.count === 0 ? 0 : timing.totalMs / timing.count / 1000;
    }
    return averages;
  }

  /** Task counts by outcome, summed over topics and services. */
  outcomeTotals(): Record<OutcomeKind, number> {
    const totals: Record<OutcomeKind, number> = { complete: 0, bpmnError: 0, failure: 0 };
    for (const [key, count] of this.#outcomes) {
      const outcome = key.split('\u0000')[0] as OutcomeKind;
      totals[outcome] += count;
    }
    return totals;
  }

  /** Task counts keyed `outcome/topic/service`. */
  outcomes(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const [key, count] of this.#outcomes) {
      result[key.split('\u0000').join('/')] = count;
    }
    return result;
  }

  apiCalls(): Record<string, number> {
    return Object.fromEntries(this.#apiCalls);
  }
}
