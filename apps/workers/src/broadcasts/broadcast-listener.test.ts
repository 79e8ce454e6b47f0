import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { newBroadcastId, signedBroadcastContent, type BroadcastContent } from '@taskyard/contracts';
import { MessageSigner } from '@taskyard/crypto';
import { createLogger } from '@taskyard/observability';
import { BroadcastStore, TaskyardKeys } from '@taskyard/store';
import type { BroadcastDispatcher } from './broadcast-dispatcher';
import { BroadcastListener } from './broadcast-listener';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'));
const keys = new TaskyardKeys(prefix);
const store = new BroadcastStore(redis, keys, 60_000);
const signer = new MessageSigner([{ id: 'k1', secret: 'signing-secret-0123456789abcdef' }]);
const logger = createLogger({ name: 'test', level: 'silent' });

afterAll(async () => {
  const found = await redis.keys(`${prefix}{*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

/** A listener for worker `w1` whose dispatcher records what it ran (the dispatcher's own test covers the types). */
function listener() {
  const ran: string[] = [];
  let refreshed = 0;
  const dispatcher = { dispatch: async (broadcast: BroadcastContent) => (ran.push(broadcast.id), { ack: { result: { ran: true } } }) } as unknown as BroadcastDispatcher;
  const made = new BroadcastListener({ store, keys, signer, dispatcher, workerId: 'w1', logger, refreshLogLevels: async () => void refreshed++, retentionMs: 60_000, clockSkewMs: 1000 });
  return { made, ran, refreshed: () => refreshed };
}

async function stored(type: string, expected: string[], sign = signer): Promise<string> {
  const content: BroadcastContent = { id: newBroadcastId(), type, payload: { role: 'echo' }, createdAt: new Date().toISOString(), expected };
  await store.create({ ...content, signature: sign.sign(signedBroadcastContent(content)) });
  return content.id;
}

describe('BroadcastListener', () => {
  it('applies, at its catch-up, a broadcast published while it did not listen, once, and acknowledges it', async () => {
    const { made, ran, refreshed } = listener();
    // Published with nobody subscribed: pub/sub dropped it.
    const id = await stored('pause-role', ['w1', 'w2']);
    await made.catchUp();
    expect(ran).toEqual([id]);
    expect(refreshed()).toBe(1);
    expect((await store.view(id))?.acks).toEqual([{ workerId: 'w1', at: expect.any(String), result: { ran: true } }]);
    // Again (a later catch-up, the message arriving late): nothing runs twice.
    await made.catchUp();
    await made.enqueue(id);
    expect(ran).toEqual([id]);
  });

  it('runs broadcasts in the order they came, one at a time', async () => {
    const { made, ran } = listener();
    const first = await stored('pause-role', ['w1']);
    const second = await stored('resume-role', ['w1']);
    await Promise.all([made.enqueue(first), made.enqueue(second)]);
    expect(ran.slice(-2)).toEqual([first, second]);
  });

  it('runs nothing that does not expect it, nor one whose signature does not verify (altered in Redis)', async () => {
    const { made, ran } = listener();
    const other = await stored('pause-role', ['w2']);
    const forged = await stored('drain', ['w1'], new MessageSigner([{ id: 'k1', secret: 'another-secret-0123456789abcdef' }]));
    await made.enqueue(other);
    await made.enqueue(forged);
    expect(ran).not.toContain(other);
    expect(ran).not.toContain(forged);
    expect((await store.view(forged))?.acks).toEqual([]);
  });
});
