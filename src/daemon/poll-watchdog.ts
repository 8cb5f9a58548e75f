/**
 * Watches the fetch loops for progress. Each loop reports every step it
 * takes. A step that should end within a known time (a fetch, a pause) gets
 * a deadline, and a loop whose step runs past its deadline by more than the
 * grace period is stalled. `/healthz` fails while any loop is stalled, so a
 * wedged poll loop gets the process restarted although it is still alive.
 */

/**
 * What a loop does now, as reported to the watchdog: `fetching` has a
 * fetch-and-lock request out, `pausing` sleeps between fetches or after a
 * failed one, `waiting-for-capacity` waits for tasks in flight to finish,
 * `working` runs its own code between those steps, `stopped` has ended.
 */
export type WatchedPhase = 'fetching' | 'pausing' | 'waiting-for-capacity' | 'working' | 'stopped';

/** Milliseconds on a monotonic clock; a fake one lets tests move time. */
export type MonotonicClock = () => number;

export interface PollWatchdogOptions {
  /** Maximum duration of one fetch: the long-polling timeout plus the engine request timeout. */
  fetchTimeoutMs: number;
  /** Time a step may run past its expected end before its loop counts as stalled. */
  graceMs: number;
  /** @default performance.now */
  clock?: MonotonicClock;
}

/** One loop's state in a health report. */
export interface LoopHealth {
  phase: WatchedPhase;
  /** Time spent in the current phase. */
  phaseMs: number;
  stalled: boolean;
  /** Time since the last fetch started, or undefined before the first. */
  sinceFetchStartMs: number | undefined;
  /** Time since the last fetch returned, successfully or not, or undefined before the first. */
  sinceFetchEndMs: number | undefined;
  /** Fetches that failed in a row; 0 after a successful one. */
  consecutiveFetchFailures: number;
}

/** Whether the loops' most recent fetches got a response from the engine. */
export type EngineReachability = 'reachable' | 'unreachable' | 'unknown';

interface LoopRecord {
  phase: WatchedPhase;
  since: number;
  /** When the current phase should have ended; undefined for phases without a bound. */
  deadline: number | undefined;
  fetchStartedAt: number | undefined;
  fetchEndedAt: number | undefined;
  consecutiveFetchFailures: number;
}

/** Deadline watchdog over the fetch loops; see the module comment. */
export class PollWatchdog {
  readonly #options: Required<PollWatchdogOptions>;
  readonly #loops = new Map<string, LoopRecord>();

  constructor(options: PollWatchdogOptions) {
    this.#options = { clock: () => performance.now(), ...options };
  }

  /** Records that a fetch-and-lock request was sent. */
  fetchStarted(loop: string): void {
    const record = this.#enter(loop, 'fetching', this.#options.fetchTimeoutMs);
    record.fetchStartedAt = record.since;
  }

  /** Records that the fetch-and-lock request returned (`ok`) or failed. */
  fetchEnded(loop: string, ok: boolean): void {
    const record = this.#enter(loop, 'working', 0);
    record.fetchEndedAt = record.since;
    record.consecutiveFetchFailures = ok ? 0 : record.consecutiveFetchFailures + 1;
  }

  /** Records that the loop sleeps for `milliseconds`, between fetches or backing off after a failed one. */
  pausing(loop: string, milliseconds: number): void {
    this.#enter(loop, 'pausing', milliseconds);
  }

  /** Records that the loop waits for free capacity. That wait has no deadline, because tasks in flight have their own timeouts. */
  waitingForCapacity(loop: string): void {
    this.#enter(loop, 'waiting-for-capacity', undefined);
  }

  /** Records that the loop returned from a wait and runs its own code until its next step. */
  working(loop: string): void {
    this.#enter(loop, 'working', 0);
  }

  /** Records that the loop has stopped; a stopped loop never stalls. */
  stopped(loop: string): void {
    this.#enter(loop, 'stopped', undefined);
  }

  /** Returns each loop's state. A loop that has reported nothing yet is absent. */
  loops(): Record<string, LoopHealth> {
    const now = this.#options.clock();
    const report: Record<string, LoopHealth> = {};
    for (const [name, record] of this.#loops) {
      report[name] = {
        phase: record.phase,
        phaseMs: Math.round(now - record.since),
        stalled: record.deadline !== undefined && now > record.deadline + this.#options.graceMs,
        sinceFetchStartMs: record.fetchStartedAt === undefined ? undefined : Math.round(now - record.fetchStartedAt),
        sinceFetchEndMs: record.fetchEndedAt === undefined ? undefined : Math.round(now - record.fetchEndedAt),
        consecutiveFetchFailures: record.consecutiveFetchFailures,
      };
    }
    return report;
  }

  /** True while no loop is stalled. */
  healthy(): boolean {
    return Object.values(this.loops()).every((loop) => !loop.stalled);
  }

  /**
   * `unreachable` when any loop's last fetch failed, `reachable` when every
   * loop that has finished a fetch succeeded, `unknown` before any fetch
   * has returned.
   */
  engineReachability(): EngineReachability {
    let anyEnded = false;
    for (const record of this.#loops.values()) {
      if (record.consecutiveFetchFailures > 0) {
        return 'unreachable';
      }
      anyEnded ||= record.fetchEndedAt !== undefined;
    }
    return anyEnded ? 'reachable' : 'unknown';
  }

  #enter(loop: string, phase: WatchedPhase, expectedMs: number | undefined): LoopRecord {
    const now = this.#options.clock();
    let record = this.#loops.get(loop);
    if (record === undefined) {
      record = { phase, since: now, deadline: undefined, fetchStartedAt: undefined, fetchEndedAt: undefined, consecutiveFetchFailures: 0 };
      this.#loops.set(loop, record);
    }
    record.phase = phase;
    record.since = now;
    record.deadline = expectedMs === undefined ? undefined : now + expectedMs;
    return record;
  }
}
