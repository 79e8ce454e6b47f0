import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskyardKeys } from '@taskyard/store';
import { ApiServer } from '../support/api-server';
import { CuttingProxy } from '../support/cutting-proxy';
import { roleQueue } from '../support/role-queue';
import { deletePrefix, testEnv } from '../support/test-env';

/**
 * Several tasks at once — a topic's fan-out, a batch of one role or across roles — go into a
 * single Redis all or none: the API's connection is cut in the middle of the enqueue, after the
 * first job was sent and before the second (as if the API died there), and no job is in. The client's retry with its Idempotency-Key then enqueues both. (This suite
 * runs against a single Redis only: on a cluster each role's share is its own, see the README.)
 */
const env = testEnv({ ROLE_MODULES: resolve(__dirname, '../fixtures/roles/topics.cjs'), LOG_LEVEL: 'silent' });
const keys = new TaskyardKeys(env['QUEUE_PREFIX']!);
const markers = ['audit', 'notify'].map((role) => keys.queuePrefix(role));
let redis: Redis;
let proxy: CuttingProxy;
let api: ApiServer;

beforeAll(async () => {
  redis = new Redis(env['REDIS_URL']!);
  const { hostname, port } = new URL(env['REDIS_URL']!);
  proxy = await new CuttingProxy({ host: hostname, port: Number(port || 6379) }).start();
  api = await new ApiServer({ ...env, REDIS_URL: proxy.url }).start();
  // Every role's queue is made (BullMQ writes its meta on first use): what the proxy cuts is the enqueue.
  expect((await api.request('GET', '/v1/roles')).status).toBe(200);
});

afterAll(async () => {
  await api?.stop();
  await proxy?.stop();
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
  redis?.disconnect();
});

async function jobsOf(role: string): Promise<string[]> {
  const queue = roleQueue(redis, env['QUEUE_PREFIX']!, role);
  try {
    return (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'])).map((job) => job.id!);
  } finally {
    await queue.close();
  }
}

/** Sends the request while the proxy cuts the enqueue's transaction; the API answers 503 (not confirmed). */
async function cutWhileSending(send: () => Promise<{ status: number; body: any }>, between: readonly string[] = markers): Promise<void> {
  const cut = proxy.cutBetween(between);
  const answer = await send();
  expect(answer.status, JSON.stringify(answer.body)).toBe(503);
  expect(answer.body.error.code).toBe('REDIS_UNAVAILABLE');
  await cut;
}

/** The API reconnects by itself after the cut; a request that needs Redis answers again. */
async function untilApiReconnected(): Promise<void> {
  await new Promise<void>((done) => (api.redis.status === 'ready' ? done() : api.redis.once('ready', () => done())));
}

describe('a fan-out cut in the middle of its enqueue', () => {
  it('leaves no task of a topic message, and the Idempotency-Key retry enqueues every subscriber once', async () => {
    const headers = { 'idempotency-key': 'atomic-topic-1' };
    const body = { payload: { orderId: 'o-atomic' } };
    await cutWhileSending(() => api.request('POST', '/v1/topics/order.created', { body, headers }));
    expect(await jobsOf('audit')).toEqual([]);
    expect(await jobsOf('notify')).toEqual([]);

    await untilApiReconnected();
    const retried = await api.request('POST', '/v1/topics/order.created', { body, headers });
    expect(retried.status, JSON.stringify(retried.body)).toBe(202);
    const tasks = retried.body.tasks as { id: string; role: string }[];
    expect(tasks.map((task) => task.role)).toEqual(['audit', 'notify']);
    expect(await jobsOf('audit')).toEqual([tasks[0]!.id]);
    expect(await jobsOf('notify')).toEqual([tasks[1]!.id]);
  });

  it('leaves no task of a batch of one role', async () => {
    // Cut between the batch's first job and its second (their payloads mark them).
    const body = { tasks: ['one-role-first', 'one-role-second', 'one-role-third'].map((orderId) => ({ role: 'audit', payload: { orderId } })) };
    const before = await jobsOf('audit');
    await untilApiReconnected();
    await cutWhileSending(() => api.request('POST', '/v1/tasks/batch', { body }), ['one-role-first', 'one-role-second']);
    expect(await jobsOf('audit')).toEqual(before);
  });

  it('leaves no task of a batch across roles', async () => {
    const body = { tasks: [{ role: 'audit', payload: { orderId: 'b-1' } }, { role: 'notify', payload: { orderId: 'b-1' } }] };
    const before = { audit: await jobsOf('audit'), notify: await jobsOf('notify') };
    await untilApiReconnected();
    await cutWhileSending(() => api.request('POST', '/v1/tasks/batch', { body }));
    expect(await jobsOf('audit')).toEqual(before.audit);
    expect(await jobsOf('notify')).toEqual(before.notify);
  });
});
