/**
 * Transition counts shared by the replicas of a deployment through Redis,
 * so every replica predicts from the tasks all of them saw. Each replica
 * adds its own increments to one hash per definition (HINCRBY) and reads the
 * totals back (HGETALL) at a fixed interval. Redis is optional here as for
 * the definition cache: while it is unavailable each replica predicts from
 * its own counts, and the increments wait for the next sync.
 */
import type { RedisPipelineClient } from '../definitions/redis-store.ts';

/** The part of the Redis tier that runs commands; see `RedisDefinitionStore.run`. */
export interface CommandRunner {
  run<T>(command: (client: RedisPipelineClient) => Promise<T>): Promise<T | undefined>;
}

/** A count as `[from, to, count]`; `from` is undefined for the first task of an instance. */
export type CountEntry = [string | undefined, string, number];

export interface SharedCountsOptions {
  /** Prefix of every key, the same as the definition cache's. */
  keyPrefix: string;
  /** Expiry of a hash, renewed by every increment. */
  ttlMs: number;
}

/**
 * Version of the hash layout, part of the key. A field is `<from>><to>`:
 * activity ids are XML NCNames, which contain no `>`, and an empty `<from>`
 * stands for the start of an instance.
 */
const FORMAT_VERSION = 1;

/** Increments not yet sent, per definition, by field. */
type Pending = Map<string, Map<string, number>>;

/** Counts shared through Redis; see the module comment. */
export class SharedTransitionCounts {
  readonly #redis: CommandRunner;
  readonly #options: SharedCountsOptions;
  #pending: Pending = new Map();

  constructor(redis: CommandRunner, options: SharedCountsOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  /** Returns the Redis key of a definition's counts. */
  key(definitionId: string): string {
    return `${this.#options.keyPrefix}transitions:v${FORMAT_VERSION}:${definitionId}`;
  }

  /** Queues one increment for the next {@link sync}. */
  add(definitionId: string, from: string | undefined, to: string, count = 1): void {
    const fields = this.#pending.get(definitionId) ?? new Map<string, number>();
    const field = `${from ?? ''}>${to}`;
    fields.set(field, (fields.get(field) ?? 0) + count);
    this.#pending.set(definitionId, fields);
  }

  /** Increments queued for a definition and not yet sent, as count entries. */
  pending(definitionId: string): CountEntry[] {
    return [...(this.#pending.get(definitionId) ?? [])].map(([field, count]) => [...parseField(field), count]);
  }

  /**
   * Sends the queued increments of the given definitions and reads their
   * totals, which include every replica's increments. Increments of other
   * definitions are dropped, so the queue stays within what the model
   * holds. Returns the totals by definition id, or undefined when Redis
   * could not be used; the increments then stay queued.
   */
  async sync(definitionIds: readonly string[]): Promise<Map<string, CountEntry[]> | undefined> {
    const wanted = new Set(definitionIds);
    const sending: Pending = new Map([...this.#pending].filter(([definitionId]) => wanted.has(definitionId)));
    this.#pending = new Map();

    if (sending.size > 0) {
      const sent = await this.#redis.run(async (client) => {
        const pipeline = client.pipeline();
        for (const [definitionId, fields] of sending) {
          for (const [field, count] of fields) {
            pipeline.hincrby(this.key(definitionId), field, count);
          }
          pipeline.pexpire(this.key(definitionId), this.#options.ttlMs);
        }
        throwFirstError(await pipeline.exec());
        return true;
      });
      if (sent === undefined) {
        this.#requeue(sending);
        return undefined;
      }
    }

    if (definitionIds.length === 0) {
      return new Map();
    }
    const hashes = await this.#redis.run(async (client) => {
      const pipeline = client.pipeline();
      for (const definitionId of definitionIds) {
        pipeline.hgetall(this.key(definitionId));
      }
      return throwFirstError(await pipeline.exec());
    });
    if (hashes === undefined) {
      return undefined;
    }

    const totals = new Map<string, CountEntry[]>();
    definitionIds.forEach((definitionId, position) => {
      const hash = (hashes[position] ?? {}) as Record<string, string>;
      totals.set(definitionId, Object.entries(hash).flatMap(([field, value]) => {
        const count = Number(value);
        return field.includes('>') && Number.isSafeInteger(count) && count > 0 ? [[...parseField(field), count] as CountEntry] : [];
      }));
    });
    return totals;
  }

  /** Puts increments that could not be sent back in front of those queued since. */
  #requeue(sending: Pending): void {
    for (const [definitionId, fields] of this.#pending) {
      const merged = sending.get(definitionId) ?? new Map<string, number>();
      for (const [field, count] of fields) {
        merged.set(field, (merged.get(field) ?? 0) + count);
      }
      sending.set(definitionId, merged);
    }
    this.#pending = sending;
  }
}

function parseField(field: string): [string | undefined, string] {
  const separator = field.indexOf('>');
  const from = field.slice(0, separator);
  return [from === '' ? undefined : from, field.slice(separator + 1)];
}

/** Returns the results of a pipeline, raising the first command error so the runner counts an outage. */
function throwFirstError(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) {
    throw new Error('redis pipeline was discarded');
  }
  for (const [error] of results) {
    if (error !== null) {
      throw error;
    }
  }
  return results.map(([, result]) => result);
}
