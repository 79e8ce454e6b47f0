import { describe, expect, it } from 'vitest';
import { DEFER_MAX_MS, DEFER_MIN_MS, deferralMs } from './tenant-gate';

describe('deferralMs: how long a task waits when its tenant is at a limit', () => {
  it('waits out the rate window, plus up to a quarter of it', () => {
    expect(deferralMs({ granted: false, reason: 'rate', retryMs: 400 }, 0, () => 0)).toBe(400);
    expect(deferralMs({ granted: false, reason: 'rate', retryMs: 400 }, 0, () => 0.999)).toBe(500);
  });

  it('at the concurrency limit, doubles with each earlier wait up to DEFER_MAX_MS, between half and all of it', () => {
    const at = (waited: number, random: number) => deferralMs({ granted: false, reason: 'concurrency', retryMs: 0 }, waited, () => random);
    expect(at(0, 0)).toBe(DEFER_MIN_MS / 2);
    expect(at(0, 1)).toBe(DEFER_MIN_MS);
    expect(at(2, 1)).toBe(DEFER_MIN_MS * 4);
    expect(at(50, 1)).toBe(DEFER_MAX_MS);
    expect(at(50, 0)).toBe(DEFER_MAX_MS / 2);
    expect(at(-1, 1)).toBe(DEFER_MIN_MS);
  });
});
