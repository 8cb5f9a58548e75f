/**
 * Copies of the strings that a parsed model keeps. saxes returns attribute
 * values and text as substrings of the XML text, and V8 (in Node 24.21)
 * stores a substring of 13 or more characters as a sliced string that keeps
 * its whole parent alive, as `%DebugPrint` shows. Without copies, a cached
 * model would keep its XML in memory too. The pool keeps one copy of each
 * distinct value, so repeated values (process ids, topics, property names)
 * also share one string.
 */

/** Shortest substring that V8 in Node 24.21 stores as a slice; shorter ones are copied already. */
const MIN_SLICE_LENGTH = 13;

export class StringPool {
  readonly #strings = new Map<string, string>();

  /** Returns the pooled copy of `value`, creating it on first sight. */
  intern(value: string): string {
    const pooled = this.#strings.get(value);
    if (pooled !== undefined) {
      return pooled;
    }
    // JSON.parse allocates the string anew, so the copy references no source text.
    const copy = value.length < MIN_SLICE_LENGTH ? value : (JSON.parse(JSON.stringify(value)) as string);
    this.#strings.set(copy, copy);
    return copy;
  }

  internOptional(value: string | undefined): string | undefined {
    return value === undefined ? undefined : this.intern(value);
  }
}
