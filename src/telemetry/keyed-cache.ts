/**
 * Values built once per combination of up to four keys, such as the
 * attribute set of a counter for one service, path, method and status. A
 * task then finds its attribute object and counters with a few lookups in
 * small maps, instead of building the object and joining a key string for
 * every event.
 *
 * Bounded: past `maxEntries` combinations the cache starts over, so values
 * that rarely repeat (an unusual error type, say) cannot grow it without
 * limit. Dropped entries are rebuilt on their next use.
 */
export class KeyedCache<V> {
  readonly #maxEntries: number;
  #root = new Map<unknown, Map<unknown, Map<unknown, Map<unknown, V>>>>();
  #size = 0;

  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError(`KeyedCache: maxEntries must be a positive integer, received ${String(maxEntries)}`);
    }
    this.#maxEntries = maxEntries;
  }

  /** Returns the value of a combination, building it with `build` the first time. Unused keys are passed as undefined. */
  get<A, B, C, D>(a: A, b: B, c: C, d: D, build: (a: A, b: B, c: C, d: D) => V): V {
    const value = this.#root.get(a)?.get(b)?.get(c)?.get(d);
    if (value !== undefined) {
      return value;
    }
    return this.#store(a, b, c, d, build(a, b, c, d));
  }

  get size(): number {
    return this.#size;
  }

  #store(a: unknown, b: unknown, c: unknown, d: unknown, value: V): V {
    if (this.#size >= this.#maxEntries) {
      this.#root = new Map();
      this.#size = 0;
    }
    let second = this.#root.get(a);
    if (second === undefined) {
      second = new Map();
      this.#root.set(a, second);
    }
    let third = second.get(b);
    if (third === undefined) {
      third = new Map();
      second.set(b, third);
    }
    let fourth = third.get(c);
    if (fourth === undefined) {
      fourth = new Map();
      third.set(c, fourth);
    }
    fourth.set(d, value);
    this.#size += 1;
    return value;
  }
}
