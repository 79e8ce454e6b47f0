import { describe, expect, it } from 'vitest';
import { mayRepeatEarlierRun, REINJECTION_AFTER_MS } from './effects-ledger';

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
