import { describe, expect, it } from 'vitest';
import { mayRepeatEarlierRun, REINJECTION_AFTER_MS } from './effects-ledger';
import { EARLY_CANCEL_MS, RunningAttempts } from './running-attempts';

const createdAt = '2026-11-24T12:00:00.000Z';
const created = Date.parse(createdAt);

describe('which deliveries read the ledger', () => {
  it('skips a first delivery enqueued right after the message was made', () => {
    expect(mayRepeatEarlierRun({ attemptsMade: 0, stalledCounter: 0, timestamp: created + 3 }, createdAt)).toBe(false);
  });

  it('reads it for retries, redeliveries after a stall, and re-injections', () => {
    expect(mayRepeatEarlierRun({ attemptsMade: 1, stalledCounter: 0, timestamp: created }, createdAt)).toBe(true);
    expect(mayRepeatEarlierRun({ attemptsMade: 0, stalledCounter: 1, timestamp: created }, createdAt)).toBe(true);
    expect(mayRepeatEarlierRun({ attemptsMade: 0, stalledCounter: 0, timestamp: created + REINJECTION_AFTER_MS + 1 }, createdAt)).toBe(true);
  });
});

describe('cancellations that arrive before their attempt starts', () => {
  const cancelled = () => new Error('cancelled');

  it('abort the attempt when it registers shortly after', () => {
    const attempts = new RunningAttempts();
    expect(attempts.abort('t1', cancelled)).toBe(0);
    const attempt = attempts.register('t1');
    const reasons: string[] = [];
    attempt.onAbort((reason) => reasons.push(reason.message));
    expect(reasons).toEqual(['cancelled']);
    // Used once: a later attempt of the same id is not aborted again by the same message.
    attempt.release();
    const next = attempts.register('t1');
    next.onAbort((reason) => reasons.push(reason.message));
    expect(reasons).toEqual(['cancelled']);
  });

  it('are forgotten after EARLY_CANCEL_MS', () => {
    const attempts = new RunningAttempts();
    const now = Date.now();
    attempts.abort('old', cancelled, now - EARLY_CANCEL_MS - 1);
    attempts.abort('other', cancelled, now);
    const reasons: string[] = [];
    attempts.register('old').onAbort((reason) => reasons.push(reason.message));
    expect(reasons).toEqual([]);
  });
});
