/**
 * Copies of the strings that a parsed model keeps. saxes returns attribute
 * values and text as substrings of the XML text, and V8 (in Node 24.21)
 * stores a substring of 13 or more characters as a sliced string that keeps
 * its whole parent alive, as `%DebugPrint` shows. Without copies, a cached
 * model would keep its XML in memory too.
 *
 * Pools share one copy of each distinct value. Within one document that
 * covers repeated process ids, topics and property names. Across documents,
 * a process-wide table shares the short values that versions of one process
 * and processes of one team repeat: activity ids and names, element types,
 * topics, services. That table is bounded, and it starts over when full, so
 * it never contains more than {@link SHARED_MAX_ENTRIES} strings of at most
 * {@link SHARED_MAX_LENGTH} characters.
 */

/** Shortest substring that V8 in Node 24.21 stores as a slice; shorter ones are copied already. */
const MIN_SLICE_LENGTH = 13;
/** Maximum length of a string in the process-wide table. Longer ones (documentation, expressions) are shared within their document only. */
export const SHARED_MAX_LENGTH = 128;
/** Maximum number of strings in the process-wide table; the table starts over when it reaches it. */
export const SHARED_MAX_ENTRIES = 20_000;

const shared = new Map<string, string>();

export class StringPool {
  readonly #strings = new Map<string, string>();

  /** Returns the pooled copy of `value`, creating it on first sight. */
  intern(value: string): string {
    const pooled = this.#strings.get(value);
    if (pooled !== undefined) {
      return pooled;
    }

    const copy = value.length > SHARED_MAX_LENGTH ? copyString(value) : sharedCopy(value);
    this.#strings.set(copy, copy);
    return copy;
  }

  internOptional(value: string | undefined): string | undefined {
    return value === undefined ? undefined : this.intern(value);
  }
}

function sharedCopy(value: string): string {
  const pooled = shared.get(value);
  if (pooled !== undefined) {
    return pooled;
  }
  if (shared.size >= SHARED_MAX_ENTRIES) {
    shared.clear();
  }
  const copy = copyString(value);
  shared.set(copy, copy);
  return copy;
}

function copyString(value: string): string {
  // JSON.parse allocates the string anew, so the copy references no source text.
  return value.length < MIN_SLICE_LENGTH ? value : (JSON.parse(JSON.stringify(value)) as string);
}
