/**
 * The nearest-rank percentile of a sorted sample: the smallest value with at least `q` of the
 * sample at or below it, i.e. `sorted[ceil(q × n) − 1]` (q in (0, 1]); null for an empty sample.
 * Always one of the recorded values, never an interpolation between two.
 */
export function nearestRank(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? null;
}

/**
 * The nearest-rank percentile weighted by time: the smallest value held for at least `q` of the
 * total time, given how long each value was held; null when no time was recorded.
 */
export function weightedNearestRank(msByValue: ReadonlyMap<number, number>, q: number): number | null {
  const values = [...msByValue.keys()].sort((a, b) => a - b);
  let total = 0;
  for (const ms of msByValue.values()) total += ms;
  if (total === 0) return null;
  let held = 0;
  for (const value of values) {
    held += msByValue.get(value) ?? 0;
    if (held >= q * total) return value;
  }
  return values[values.length - 1] ?? null;
}
