import { describe, expect, it } from 'vitest';
import { MAX_TASK_DELAY_MS } from '@taskyard/contracts';
import { cancel, outcomeOf, parseRetryAfter, snooze } from './outcomes';

describe('handler outcomes', () => {
  it('are told apart from results, and survive the trip through JSON (an isolated child answers over IPC)', () => {
    expect(outcomeOf(snooze(1500, 'later'))).toEqual({ kind: 'snooze', delayMs: 1500, reason: 'later' });
    expect(outcomeOf(JSON.parse(JSON.stringify(cancel('gone'))))).toEqual({ kind: 'cancel', reason: 'gone' });
    for (const result of [undefined, null, 0, 'snooze', { kind: 'snooze' }, { 'taskyard:outcome': 'other' }]) expect(outcomeOf(result)).toBeUndefined();
  });

  it('bound what a handler may ask for: a snooze of 0 to 30 days, a reason of some length', () => {
    expect(outcomeOf(snooze(-5))).toMatchObject({ delayMs: 0 });
    expect(outcomeOf(snooze(Number.POSITIVE_INFINITY))).toMatchObject({ delayMs: 0 });
    expect(outcomeOf(snooze(10 ** 15))).toMatchObject({ delayMs: MAX_TASK_DELAY_MS });
    expect((outcomeOf(cancel('x'.repeat(5000))) as { reason: string }).reason).toHaveLength(1000);
  });

  it('read a Retry-After header in seconds or as a date', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('99999999999', now)).toBe(MAX_TASK_DELAY_MS);
  });
});
