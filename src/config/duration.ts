/** Units accepted in duration strings, in milliseconds. */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/**
 * Converts a configuration duration to milliseconds: a non-negative number is
 * already milliseconds, a string is a number followed by `ms`, `s`, `m` or `h`.
 * Returns undefined for anything else so the caller can report it.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== 'string') {
    return undefined;
  }

  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return Number(trimmed);
  }
  const match = DURATION_PATTERN.exec(trimmed);
  if (!match) {
    return undefined;
  }
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] as number));
}
