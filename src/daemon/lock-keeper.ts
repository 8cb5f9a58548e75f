import { isRejectedTaskCall } from '../engine/adapter.ts';
import type { EngineAdapter } from '../engine/adapter.ts';
import type { Task } from '../engine/types.ts';
import type { Logger } from '../telemetry/logger.ts';

/** Pause before another try after an extension failed without a response from the engine. */
const EXTENSION_RETRY_MS = 500;

/** A task whose lock is kept alive while it runs. */
export interface KeptLock {
  task: Task;
  lockDurationMs: number;
  /** Current lock expiry in epoch milliseconds; updated after each extension. */
  lockExpiresAt: number;
  /** Set when the engine reports the task gone or locked by another worker: its result must be dropped. */
  lost: boolean;
}

export interface LockKeeperOptions {
  engine: EngineAdapter;
  workerId: string;
  /** Share of the lock duration after which the lock is extended. */
  extendAt: number;
  logger: Logger;
  onExtended(): void;
  onFailed(): void;
}

/**
 * Extends the locks of running tasks: once a share (`engine.extendLockAt`)
 * of the lock duration has passed, the lock is set to a full lock duration
 * from now, again and again until the task's outcome is reported.
 */
export class LockKeeper {
  readonly #options: LockKeeperOptions;

  constructor(options: LockKeeperOptions) {
    this.#options = options;
  }

  /** Starts keeping a lock; the returned function stops it. */
  keep(lock: KeptLock): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;

    const schedule = (delayMs: number): void => {
      if (!stopped) {
        timer = setTimeout(() => void extend(), Math.max(0, delayMs));
      }
    };
    const extend = async (): Promise<void> => {
      const started = Date.now();
      try {
        await this.#options.engine.extendLock(lock.task, lock.lockDurationMs);
      } catch (error) {
        await this.#failed(lock, error, started, schedule);
        return;
      }
      lock.lockExpiresAt = started + lock.lockDurationMs;
      this.#options.onExtended();
      this.#options.logger.debug({ taskId: lock.task.id, topic: lock.task.topic, lockExpiresAt: new Date(lock.lockExpiresAt).toISOString() }, 'lock extended');
      schedule(this.#nextExtension(lock) - Date.now());
    };

    schedule(this.#nextExtension(lock) - Date.now());
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  #nextExtension(lock: KeptLock): number {
    const lockedAt = lock.lockExpiresAt - lock.lockDurationMs;
    return lockedAt + this.#options.extendAt * lock.lockDurationMs;
  }

  async #failed(lock: KeptLock, error: unknown, started: number, schedule: (delayMs: number) => void): Promise<void> {
    this.#options.onFailed();
    const log = this.#options.logger.child({ taskId: lock.task.id, topic: lock.task.topic });

    if (!isRejectedTaskCall(error)) {
      if (started + EXTENSION_RETRY_MS < lock.lockExpiresAt) {
        log.warn({ err: error }, 'lock extension failed; retrying');
        schedule(EXTENSION_RETRY_MS);
      } else {
        log.warn({ err: error }, 'lock extension failed and the lock has expired; the engine may hand the task to another worker');
      }
      return;
    }

    let holder;
    try {
      holder = await this.#options.engine.lockOf(lock.task.id);
    } catch (readError) {
      log.warn({ err: error, readError }, 'lock extension rejected and the lock could not be read');
      return;
    }
    if (holder === undefined || holder.workerId !== this.#options.workerId) {
      lock.lost = true;
      log.warn({ err: error, lockedBy: holder?.workerId ?? null }, 'lock lost: the task is gone or locked by another worker; its result will be dropped');
      return;
    }
    log.warn({ err: error }, 'lock extension rejected; the lock may expire before the task ends');
  }
}
