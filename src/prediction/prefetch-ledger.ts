/**
 * Bookkeeping of prefetches: each prefetched item (an activity's route, or
 * a whole definition) waits for a task that needs it. A task that arrives
 * within the window uses it; an item still waiting after the window is
 * counted unused. Each item is counted once, either way.
 */
import type { Clock } from '../definitions/adaptive-cache.ts';

export interface PrefetchLedgerOptions {
  /** How long a prefetched item waits for its task before it counts as unused. */
  windowMs: number;
  /** Items waiting at once; adding one more settles the oldest as unused. */
  maxPending: number;
  clock: Clock;
  /** Called once per item when it is used or counted unused. */
  onSettled: (used: boolean) => void;
}

/** Returns the ledger key of an activity's prepared route. */
export function activityItem(definitionId: string, activityId: string): string {
  return `activity:${definitionId}:${activityId}`;
}

/** Returns the ledger key of a loaded definition. */
export function definitionItem(definitionId: string): string {
  return `definition:${definitionId}`;
}

/** Prefetched items waiting for a task; see the module comment. */
export class PrefetchLedger {
  readonly #options: PrefetchLedgerOptions;
  /** Expiry time per item. The window is fixed, so insertion order is expiry order. */
  readonly #pending = new Map<string, number>();

  constructor(options: PrefetchLedgerOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Records a prefetch; returns false when the item is waiting already, so it is not prefetched twice. */
  add(item: string): boolean {
    if (this.#pending.has(item)) {
      return false;
    }
    if (this.#pending.size >= this.#options.maxPending) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
      this.#options.onSettled(false);
    }
    this.#pending.set(item, this.#options.clock.now() + this.#options.windowMs);
    return true;
  }

  /** Records that a task needed the item; returns whether it was waiting, which makes the prefetch used. */
  use(item: string): boolean {
    if (!this.#pending.delete(item)) {
      return false;
    }
    this.#options.onSettled(true);
    return true;
  }

  /** Counts the items whose window has passed as unused; returns how many. */
  sweep(): number {
    const now = this.#options.clock.now();
    let expired = 0;
    for (const [item, expiresAt] of this.#pending) {
      if (expiresAt > now) {
        break;
      }
      this.#pending.delete(item);
      this.#options.onSettled(false);
      expired += 1;
    }
    return expired;
  }

  /** Forgets every waiting item without counting it. */
  clear(): void {
    this.#pending.clear();
  }
}
