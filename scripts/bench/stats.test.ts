import { describe, expect, it } from 'vitest';
import { growthPercent, median, medianDifference, medianRatio, percentile, ratio, spread } from './lib/stats';
import { summariseRow } from './lib/report';

describe('bench statistics', () => {
  it('takes the median of odd and even samples without reordering them', () => {
    const samples = [5, 1, 3];
    expect(median(samples)).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(samples).toEqual([5, 1, 3]);
    expect(median([])).toBeNaN();
  });

  it('interpolates percentiles between the nearest ranks', () => {
    const latencies = Array.from({ length: 101 }, (_, i) => i); // 0..100
    expect(percentile(latencies, 50)).toBe(50);
    expect(percentile(latencies, 99)).toBe(99);
    expect(percentile([10, 20], 75)).toBe(17.5);
    expect(percentile([7], 99)).toBe(7);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('compares pairs: the median of the per-pair ratios and differences', () => {
    expect(ratio(3, 4)).toBe(0.75);
    expect(ratio(1, 0)).toBeNull();
    // Pairs (70/100, 90/100, 100/50): ratios 0.7, 0.9, 2 → median 0.9, not 260/250.
    expect(medianRatio([70, 90, 100], [100, 100, 50])).toBe(0.9);
    expect(medianRatio([1, 2], [0, 0])).toBeNull();
    expect(medianDifference([3, 5, 10], [1, 1, 1])).toBe(4);
    expect(medianRatio([1, 2, 3], [1])).toBe(1); // only complete pairs count
  });

  it('reports spread and growth', () => {
    expect(spread([9, 10, 11])).toEqual({ min: 9, max: 11, relative: 0.2 });
    expect(spread([])).toBeNull();
    expect(growthPercent(200, 220)).toBeCloseTo(10);
    expect(growthPercent(0, 5)).toBeNull();
  });

  it('decides whether a row meets its target from the paired ratios', () => {
    const row = { name: 'worker-c50', unit: 'tasks/s', taskyard: [9000, 9500, 8000], raw: [10_000, 10_000, 10_000] } as const;
    expect(summariseRow({ ...row, taskyard: [...row.taskyard], raw: [...row.raw], target: { kind: 'ratio-min', value: 0.9 } })).toEqual({
      name: 'worker-c50',
      unit: 'tasks/s',
      taskyard: 9000,
      raw: 10_000,
      ratio: 0.9,
      target: '≥ 0.9 × raw',
      met: true,
    });
    const p50 = summariseRow({ name: 'e2e-p50', unit: 'ms', taskyard: [4, 5, 6], raw: [1, 1, 1], target: { kind: 'diff-max', value: 2 } });
    expect(p50.met).toBe(false);
    expect(p50.target).toBe('≤ raw + 2 ms');
    expect(summariseRow({ name: 'worker-c1', unit: 'tasks/s', taskyard: [], raw: [1], target: { kind: 'none' } })).toMatchObject({ taskyard: null, ratio: null, met: null });
  });
});
