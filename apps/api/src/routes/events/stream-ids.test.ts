import { describe, expect, it } from 'vitest';
import { compareStreamIds, isStreamId, streamIdMs } from './stream-ids';

describe('stream ids', () => {
  it('orders by time, then by sequence, as numbers (not as text)', () => {
    expect(compareStreamIds('1700000000000-2', '1700000000000-10')).toBe(-1);
    expect(compareStreamIds('1700000000001-0', '1700000000000-99')).toBe(1);
    expect(compareStreamIds('5-5', '5-5')).toBe(0);
    expect(['9-0', '10-0', '10-1', '2-3'].sort(compareStreamIds)).toEqual(['2-3', '9-0', '10-0', '10-1']);
  });

  it('knows an id Redis makes from anything else, and its time', () => {
    expect(isStreamId('1700000000000-0')).toBe(true);
    for (const id of ['1700000000000', '-1-0', '1-0-0', 'a-b', '', '1-0\n']) expect(isStreamId(id)).toBe(false);
    expect(streamIdMs('1700000000123-4')).toBe(1_700_000_000_123);
  });
});
