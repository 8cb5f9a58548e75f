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
    const fourth = childMap(childMap(childMap(this.#root, a), b), c);
    fourth.set(d, value);
    this.#size += 1;
    return value;
  }
}

/** Returns the map stored under `key`, adding an empty one the first time. */
function childMap<K, M extends Map<unknown, unknown>>(parent: Map<K, M>, key: K): M {
  let child = parent.get(key);
  if (child === undefined) {
    child = new Map() as M;
    parent.set(key, child);
  }
  return child;
}
