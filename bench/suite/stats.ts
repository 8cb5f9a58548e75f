/** `full` is the published run; `small` is a short run for the smoke test and quick checks. */
export type SuiteSize = 'full' | 'small';

/** The value at `share` (0 to 1) of an ascending array. */
export function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] as number;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
