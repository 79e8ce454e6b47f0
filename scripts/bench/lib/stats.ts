/** Small, dependency-free statistics for benchmark samples. Every function ignores nothing: callers pass finite numbers. */

/** The value below which `p` percent of `values` fall, interpolating between the two nearest ranks (NaN when empty). */
export function percentile(values: readonly number[], p: number): number {
  if (p < 0 || p > 100) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** `a / b`, or null when the quotient means nothing (b is zero, either side is not finite). */
export function ratio(a: number, b: number): number | null {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

/**
 * The median of the per-pair ratios taskyard[i] / raw[i]: pairs run back to back, so each ratio
 * compares like with like, and the median of them is what the targets are stated in.
 */
export function medianRatio(taskyard: readonly number[], raw: readonly number[]): number | null {
  const ratios = pairwise(taskyard, raw, ratio);
  return ratios.length === 0 ? null : median(ratios);
}

/** The median of the per-pair differences taskyard[i] - raw[i] (for "≤ raw + 2 ms" targets). */
export function medianDifference(taskyard: readonly number[], raw: readonly number[]): number | null {
  const differences = pairwise(taskyard, raw, (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? a - b : null));
  return differences.length === 0 ? null : median(differences);
}

/** f over matching pairs (as many as the shorter side has), dropping pairs f cannot compare. */
export function pairwise(a: readonly number[], b: readonly number[], f: (x: number, y: number) => number | null): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const value = f(a[i]!, b[i]!);
    if (value !== null) out.push(value);
  }
  return out;
}

export interface Spread {
  min: number;
  max: number;
  /** (max - min) / |median|, e.g. 0.08 for samples within 8 % of their median. */
  relative: number | null;
}

export function spread(values: readonly number[]): Spread | null {
  if (values.length === 0) return null;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const mid = median(values);
  return { min, max, relative: mid === 0 ? null : (max - min) / Math.abs(mid) };
}

/** Growth from `before` to `after` in percent (null without a positive baseline). */
export function growthPercent(before: number, after: number): number | null {
  if (!(before > 0) || !Number.isFinite(after)) return null;
  return ((after - before) / before) * 100;
}

/** Rounds for reports: 3 significant digits below 100, whole numbers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}
