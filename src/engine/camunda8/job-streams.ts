import type { Zeebe } from '@camunda8/sdk';

import type { Logger } from '../../telemetry/logger.ts';
import type { FetchedTask } from '../types.ts';
import { fromStreamedJob, type StreamedJob } from './job.ts';

/** A job received on a stream and not yet handed out. */
export interface BufferedJob {
  fetched: FetchedTask;
  /** Epoch milliseconds of its arrival. */
  receivedAt: number;
  lockDurationMs: number;
}

/** One job type's stream: `paused` is closed because its buffer is full, and reopens once the buffer drains. */
interface TypeStream {
  state: 'opening' | 'open' | 'paused';
  lockDurationMs: number;
  close: (() => void) | undefined;
}

export interface JobStreamsOptions {
  grpc: () => Zeebe.ZeebeGrpcClient;
  workerId: string;
  tenantIds: readonly string[] | undefined;
  /** Jobs buffered per type before its stream pauses. */
  bufferSize: number;
  logger: Logger;
  /** Receives a job that arrived after {@link JobStreams.stop}, to give it back. */
  onLateJob: (fetched: FetchedTask) => void;
}

/**
 * gRPC job streams, one per job type, through the SDK's `streamJobs`: the
 * gateway pushes each new job of the type to the daemon, which buffers it
 * until the next fetch takes it. A type's stream closes while its buffer
 * contains `bufferSize` jobs, so a busy daemon does not collect jobs it cannot
 * start; the gateway then keeps new jobs for the next fetch or the reopened
 * stream.
 *
 * NOTE: closing a stream drops the jobs the gateway had already sent on it
 * (the SDK stops reading at once); the engine hands them out again when
 * their timeout ends, with their retries unchanged. The SDK also prints the
 * cancellation of a closed stream to standard error.
 *
 * NOTE: the SDK parses streamed variables itself and fails a job whose
 * variables hold an integer beyond 2^53 (it decrements the retries). REST
 * activation keeps such integers. A stream that the gateway ends is not
 * reopened; REST activation then keeps fetching jobs.
 */
export class JobStreams {
  readonly #options: JobStreamsOptions;
  readonly #streams = new Map<string, TypeStream>();
  readonly #buffers = new Map<string, BufferedJob[]>();
  readonly #waiters = new Set<() => void>();
  #state: 'running' | 'stopped' = 'running';

  constructor(options: JobStreamsOptions) {
    this.#options = options;
  }

  /** Opens the streams of these types that are not open, and reopens paused ones whose buffer has room again. */
  ensureOpen(topics: readonly { topic: string; lockDurationMs: number }[]): void {
    if (this.#state !== 'running') {
      return;
    }
    for (const { topic, lockDurationMs } of topics) {
      const stream = this.#streams.get(topic);
      if (stream === undefined || (stream.state === 'paused' && this.#buffered(topic) < this.#options.bufferSize)) {
        this.#open(topic, lockDurationMs);
      }
    }
  }

  /** Removes and returns up to `max` buffered jobs of these types, oldest first. */
  take(types: readonly string[], max: number): BufferedJob[] {
    const taken: BufferedJob[] = [];
    for (const type of types) {
      const buffer = this.#buffers.get(type);
      if (buffer === undefined || taken.length >= max) {
        continue;
      }
      taken.push(...buffer.splice(0, max - taken.length));
    }
    return taken.sort((first, second) => first.receivedAt - second.receivedAt);
  }

  /** Resolves when a job of these types is buffered, after `timeoutMs`, or when the streams stop. */
  async waitForJobs(types: readonly string[], timeoutMs: number): Promise<void> {
    if (this.#state !== 'running' || types.some((type) => this.#buffered(type) > 0)) {
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    let wake: () => void = () => {};
    await new Promise<void>((resolve) => {
      wake = resolve;
      this.#waiters.add(wake);
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.#waiters.delete(wake);
  }

  /** Closes every stream and returns the jobs buffered but not handed out; safe to call twice. */
  stop(): BufferedJob[] {
    this.#state = 'stopped';
    for (const stream of this.#streams.values()) {
      stream.close?.();
      stream.close = undefined;
    }
    this.#wakeAll();
    const remaining = [...this.#buffers.values()].flat();
    this.#buffers.clear();
    return remaining;
  }

  #open(type: string, lockDurationMs: number): void {
    const stream: TypeStream = { state: 'opening', lockDurationMs, close: undefined };
    this.#streams.set(type, stream);
    const { grpc, workerId, tenantIds, bufferSize, logger } = this.#options;

    const opening = grpc().streamJobs({
      type,
      worker: workerId,
      timeout: lockDurationMs,
      // An empty list leaves the choice to the gateway: the default tenant.
      tenantIds: tenantIds === undefined ? [] : [...tenantIds],
      pollMaxJobsToActivate: bufferSize,
      // Each fetch activates over REST when the buffer is empty, which covers what the SDK's recurring poll would.
      pollInterval: 0,
      taskHandler: (job) => {
        this.#receive(type, job as unknown as StreamedJob);
        return job.forward();
      },
    });
    opening.then(
      (handle) => {
        if (this.#state !== 'running' || stream.state === 'paused') {
          handle.close();
          return;
        }
        stream.state = 'open';
        stream.close = handle.close;
        logger.debug({ jobType: type }, 'job stream opened');
      },
      (error: unknown) => {
        this.#streams.delete(type);
        logger.warn({ err: error, jobType: type }, 'opening the job stream failed; jobs of this type are activated over REST until the next fetch retries');
      },
    );
  }

  #receive(type: string, job: StreamedJob): void {
    const stream = this.#streams.get(type);
    const fetched = fromStreamedJob(job);
    if (this.#state !== 'running' || stream === undefined) {
      this.#options.onLateJob(fetched);
      return;
    }

    const buffer = this.#buffers.get(type) ?? [];
    buffer.push({ fetched, receivedAt: Date.now(), lockDurationMs: stream.lockDurationMs });
    this.#buffers.set(type, buffer);
    if (buffer.length >= this.#options.bufferSize && stream.state !== 'paused') {
      stream.state = 'paused';
      stream.close?.();
      stream.close = undefined;
      this.#options.logger.debug({ jobType: type, buffered: buffer.length }, 'job stream paused: buffer full');
    }
    this.#wakeAll();
  }

  #buffered(type: string): number {
    return this.#buffers.get(type)?.length ?? 0;
  }

  #wakeAll(): void {
    for (const wake of this.#waiters) {
      wake();
    }
    this.#waiters.clear();
  }
}
