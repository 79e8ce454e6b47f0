import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentTaskError, type TaskMessage } from '@taskyard/contracts';
import { defineRole, type BatchEntry, type TaskContext } from '@taskyard/roles';
import { BatchCollector } from './batch-collector';

const role = (size: number, maxWaitMs: number) =>
  defineRole({ name: 'b', description: 'd', input: z.unknown(), batch: { size, maxWaitMs }, handleBatch: async (batch) => batch.map(() => null) });
const message = (n: number) => ({ id: `b_${n}`, payload: n }) as unknown as TaskMessage;
const ctx = (aborted = false) => {
  const controller = new AbortController();
  if (aborted) controller.abort();
  return { signal: controller.signal, controller } as unknown as TaskContext & { controller: AbortController };
};

describe('BatchCollector', () => {
  it('runs a full batch at once, answering each message with its own outcome (an Error fails it alone)', async () => {
    const seen: number[][] = [];
    const collector = new BatchCollector(role(3, 60_000), async (batch: readonly BatchEntry<unknown>[]) => {
      seen.push(batch.map(({ message }) => message.payload as number));
      return batch.map(({ message }) => (message.payload === 2 ? new PermanentTaskError('no', 'NO') : (message.payload as number) * 10));
    });
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => collector.handler(message(n), ctx())));
    expect(seen).toEqual([[1, 2, 3]]);
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: expect.objectContaining({ code: 'NO' }) },
      { status: 'fulfilled', value: 30 },
    ]);
  });

  it('runs what it has after maxWaitMs, and splits more than `size` into batches', async () => {
    const sizes: number[] = [];
    const collector = new BatchCollector(role(2, 20), async (batch: readonly BatchEntry<unknown>[]) => batch.map(() => 'ok'), (size) => sizes.push(size));
    await Promise.all([1, 2, 3].map((n) => collector.handler(message(n), ctx())));
    expect(sizes).toEqual([2, 1]);
  });

  it('leaves out a message whose attempt ended while it waited, and fails the whole batch when the handler throws or miscounts', async () => {
    const seen: unknown[][] = [];
    const collector = new BatchCollector(role(3, 10), async (batch: readonly BatchEntry<unknown>[]) => {
      seen.push(batch.map(({ message }) => message.payload));
      if (seen.length === 2) throw new Error('the store is down');
      return seen.length === 1 ? batch.map(() => 'ok') : [];
    });
    const first = [collector.handler(message(1), ctx()), collector.handler(message(2), ctx(true))];
    await first[0];
    expect(seen[0]).toEqual([1]);
    await expect(collector.handler(message(3), ctx())).rejects.toThrow('the store is down');
    await expect(collector.handler(message(4), ctx())).rejects.toMatchObject({ code: 'BATCH_OUTCOMES_MISMATCH' });
  });

  it('flushAll runs what waits without waiting out maxWaitMs (shutdown)', async () => {
    const collector = new BatchCollector(role(10, 60_000), async (batch: readonly BatchEntry<unknown>[]) => batch.map(() => 'ok'));
    const pending = collector.handler(message(1), ctx());
    collector.flushAll();
    await expect(pending).resolves.toBe('ok');
  });
});

describe('BatchCollector: concurrency', () => {
  it('runs at most `concurrency` batches at once; a batch due meanwhile goes when one ends', async () => {
    const role = defineRole({ name: 'b', description: 'd', input: z.unknown(), concurrency: 1, batch: { size: 1, maxWaitMs: 0 }, handleBatch: async (batch) => batch.map(() => null) });
    let running = 0;
    let most = 0;
    const collector = new BatchCollector(role, async (batch: readonly BatchEntry<unknown>[]) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return batch.map(() => 'ok');
    });
    expect(await Promise.all([1, 2, 3, 4].map((n) => collector.handler(message(n), ctx())))).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(most).toBe(1);
  });
});

describe('BatchCollector: a handler that hangs', () => {
  it('gives its batch slot back once every message of the batch ended, so the next batch runs', async () => {
    const role = defineRole({ name: 'b', description: 'd', input: z.unknown(), concurrency: 1, batch: { size: 1, maxWaitMs: 0 }, handleBatch: async (batch) => batch.map(() => null) });
    const seen: number[] = [];
    const collector = new BatchCollector(role, async (batch: readonly BatchEntry<unknown>[]) => {
      seen.push(batch[0]!.message.payload as number);
      // The first batch never answers.
      if (batch[0]!.message.payload === 1) return new Promise(() => undefined);
      return batch.map(() => 'ok');
    });
    const hung = ctx();
    void collector.handler(message(1), hung);
    const next = collector.handler(message(2), ctx());
    // The second is due, but the one slot is the hung batch's.
    expect(seen).toEqual([1]);
    // The first message's attempt ends (its timeout): the slot is free, the second runs.
    (hung as unknown as { controller: AbortController }).controller.abort();
    await expect(next).resolves.toBe('ok');
    expect(seen).toEqual([1, 2]);
  });
});
