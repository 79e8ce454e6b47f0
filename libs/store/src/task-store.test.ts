import { randomBytes } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { newTaskId, type CancelledRecord } from '@taskyard/contracts';
import { DeadLetterStore } from './dead-letter-store';
import { jobOptionsFor } from './job-options';
import { RoleQueues } from './role-queues';
import { TaskStore } from './task-store';
import { unsignedMessage } from './store.fixture';
import { TaskyardKeys } from './taskyard-keys';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const keys = new TaskyardKeys(prefix);
/** Twenty roles: reading a task must cost the same as with one. */
const roles = Array.from({ length: 20 }, (_, at) => `role-${at}`);
const queues = new RoleQueues(redis, keys, roles);
const store = new TaskStore(redis, keys, queues, { windowMsOf: () => 60_000, maxEntries: 10_000 });
const settings = { attempts: 3, backoff: { type: 'exponential' as const, delayMs: 10, jitter: 0 } };

afterAll(async () => {
  await queues.close();
  const found = [...(await redis.keys(`${prefix}:*`)), ...(await redis.keys(`${prefix}{*`))];
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

/** A task of `role` enqueued as the dispatcher does (its data an envelope, unsigned here: the store does not verify). */
async function enqueue(role: string, delayMs = 0): Promise<string> {
  const message = unsignedMessage(role);
  const id = message.id;
  await store.enqueue([{ message, options: jobOptionsFor(settings, id, { ageSeconds: 600, count: 100 }, delayMs ? { delayMs } : {}) }]);
  return id;
}

/** The commands `run` sends. */
async function commandsOf<T>(run: () => Promise<T>): Promise<{ sent: string[]; value: T }> {
  const sent: string[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    sent.push(command.name);
    return send(command, stream);
  };
  try {
    return { sent, value: await run() };
  } finally {
    redis.sendCommand = send;
  }
}

describe('the task store', () => {
  it('reads a task in one command (one round trip) whatever the number of roles', async () => {
    const first = await enqueue('role-0');
    const last = await enqueue('role-19', 60_000);
    for (const [id, state] of [[first, 'queued'], [last, 'delayed']] as const) {
      const { sent, value } = await commandsOf(() => store.read(id));
      expect(sent).toEqual(['evalsha']);
      expect(value).toMatchObject({ id, state, role: id.split('_')[0], correlationId: `corr-${id}`, attempts: 0, maxAttempts: 3 });
    }
  });

  it('finds nothing, without asking Redis, for ids that are no task id or of a role it does not have', async () => {
    for (const id of ['not-a-task', newTaskId('other-role'), '00000000-0000-4000-8000-000000000000']) {
      const { sent, value } = await commandsOf(() => store.read(id));
      expect({ id, sent, value }).toEqual({ id, sent: [], value: undefined });
    }
    expect(await store.read(newTaskId('role-3'))).toBeUndefined();
  });

  it("shows a cancelled task from its record once its job is removed, and a failed task's dead letter link", async () => {
    const id = await enqueue('role-5');
    const view = (await store.read(id))!;
    const record: CancelledRecord = {
      status: 'cancelled',
      cancelledAt: Date.now(),
      from: 'queued',
      task: { role: view.role, createdAt: view.createdAt, correlationId: view.correlationId, causationId: null, attempts: 0, maxAttempts: 3, history: view.history },
    };
    await store.records.recordCancelled(id, record, 60_000);
    expect(await store.remove(id)).toBe(true);
    expect(await store.inspect(id)).toEqual({ view: expect.objectContaining({ id, state: 'cancelled' }), jobState: 'gone', hasParent: false });

    const failed = await enqueue('role-6');
    // A worker takes the job and fails it for good, as BullMQ does.
    const taker = new Worker('role-6', null, { connection: redis, prefix: keys.queuePrefix('role-6'), autorun: false });
    const job = (await taker.getNextJob('token'))!;
    await job.moveToFailed(new UnrecoverableError('bad'), 'token');
    await taker.close();
    await new DeadLetterStore(redis, keys, 60_000).put({
      id: failed,
      role: 'role-6',
      reason: 'permanent-error',
      error: { code: 'X', class: 'permanent', message: 'bad' },
      attempts: [],
      maxAttempts: 3,
      correlationId: null,
      createdAt: new Date().toISOString(),
      deadAt: new Date().toISOString(),
      message: job.data,
    });
    expect(await store.read(failed)).toMatchObject({ state: 'failed', deadLetter: `/v1/dead-letters/${failed}` });
  });
});
