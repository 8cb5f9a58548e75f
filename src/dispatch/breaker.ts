import type { BreakerOptions } from '../config/types.ts';

/** States of a circuit breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** The breaker's decision on one request. */
export type Admission = 'allow' | 'probe' | 'reject';

/** A breaker's state and counters, as `getMetrics()` reports them. */
export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  /** How often the breaker opened since start. */
  opens: number;
  /** Start of the current outage as an ISO timestamp; null while closed. */
  outageSince: string | null;
}

export type BreakerListener = (change: { from: BreakerState; to: BreakerState; consecutiveFailures: number }) => void;

/**
 * Circuit breaker of one service. `failureThreshold` consecutive transient
 * failures open it; after `openDurationMs` it turns half-open and lets one
 * probe request through. The probe's success closes it, its failure opens it
 * again. An outage lasts from the first opening to the closing, and
 * {@link withinBudget} returns whether it is still shorter than
 * `outageBudgetMs`.
 */
export class CircuitBreaker {
  readonly #options: BreakerOptions;
  readonly #listeners: BreakerListener[] = [];
  #state: BreakerState = 'closed';
  #consecutiveFailures = 0;
  #opens = 0;
  #outageSince: number | undefined;
  #probeInFlight = false;
  #halfOpenTimer: NodeJS.Timeout | undefined;

  constructor(options: BreakerOptions) {
    this.#options = options;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Calls `listener` on every state change. */
  onChange(listener: BreakerListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Decides whether a request may go out now. `probe` admits the single
   * request of the half-open state; its result must be recorded.
   */
  admit(): Admission {
    switch (this.#state) {
      case 'closed':
        return 'allow';
      case 'open':
        return 'reject';
      case 'half-open':
        if (this.#probeInFlight) {
          return 'reject';
        }
        this.#probeInFlight = true;
        return 'probe';
    }
  }

  /** Whether a fetch for this service may lock one task to serve as the probe. */
  get awaitsProbe(): boolean {
    return this.#state === 'half-open' && !this.#probeInFlight;
  }

  /** Records a request that reached the service and got a response that is not a transient error. */
  recordSuccess(): void {
    this.#consecutiveFailures = 0;
    this.#probeInFlight = false;
    if (this.#state !== 'closed') {
      this.#outageSince = undefined;
      this.#transition('closed');
    }
  }

  /** Records a transient failure: a connection error, a timeout, or HTTP 429, 502, 503 or 504. */
  recordFailure(): void {
    this.#consecutiveFailures += 1;
    if (this.#state === 'half-open') {
      this.#probeInFlight = false;
      this.#open();
      return;
    }
    if (this.#state === 'closed' && this.#consecutiveFailures >= this.#options.failureThreshold) {
      this.#outageSince = Date.now();
      this.#open();
    }
  }

  /** Releases a probe admission whose request never went out. */
  cancelProbe(): void {
    this.#probeInFlight = false;
  }

  /** Returns whether the current outage, if any, is still shorter than the outage budget. */
  withinBudget(now = Date.now()): boolean {
    return this.#outageSince === undefined || now - this.#outageSince < this.#options.outageBudgetMs;
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.#state,
      consecutiveFailures: this.#consecutiveFailures,
      opens: this.#opens,
      outageSince: this.#outageSince === undefined ? null : new Date(this.#outageSince).toISOString(),
    };
  }

  /** Clears the half-open timer. */
  dispose(): void {
    clearTimeout(this.#halfOpenTimer);
  }

  #open(): void {
    this.#opens += 1;
    this.#transition('open');
    clearTimeout(this.#halfOpenTimer);
    this.#halfOpenTimer = setTimeout(() => this.#transition('half-open'), this.#options.openDurationMs);
    this.#halfOpenTimer.unref();
  }

  #transition(to: BreakerState): void {
    const from = this.#state;
    if (from === to) {
      return;
    }
    this.#state = to;
    for (const listener of this.#listeners) {
      listener({ from, to, consecutiveFailures: this.#consecutiveFailures });
    }
  }
}
