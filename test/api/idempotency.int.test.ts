import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { roleQueue } from '../support/role-queue';
import { usePlatform } from '../support/platform';
import { TEST_API_KEY } from '../support/test-env';
import { expectError, roleCounts, totalJobs } from './helpers';

const OTHER_KEY = { id: 'other', secret: 'other-secret-0123456789abcdef' };

// No worker: accepted tasks stay queued, so "enqueued once" is visible in the queue counts.
const { api, env } = usePlatform(
  { API_KEYS: `${TEST_API_KEY.id}:${TEST_API_KEY.secret},${OTHER_KEY.id}:${OTHER_KEY.secret}` },
  { workers: 0 },
);

const echo = (message: string) => ({ role: 'echo', payload: { message } });
const withKey = (key: string, extra: Record<string, string> = {}) => ({ 'idempotency-key': key, ...extra });
const asOther = { authorization: `Bearer ${OTHER_KEY.secret}` };

describe('Idempotency-Key on POST /v1/tasks', () => {
  it('50 parallel requests with one key: all 202 with the same id, exactly one task enqueued', async () => {
    const key = randomUUID();
    const before = (await roleCounts(api, 'echo'))['queued']!;
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => api.request('POST', '/v1/tasks', { body: echo('once'), headers: withKey(key) })),
    );

    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(202));
    const ids = new Set(responses.map((response) => response.body.id as string));
    expect(ids.size).toBe(1);
    // One request enqueued; the other 49 repeat its answer and say so.
    expect(responses.filter((response) => response.headers.get('idempotent-replayed') === 'true')).toHaveLength(49);
    expect((await roleCounts(api, 'echo'))['queued']).toBe(before + 1);
    expect(await api.task([...ids][0]!)).toMatchObject({ id: [...ids][0], state: 'queued' });
  });

  it('a later retry answers the original 202 (same id, Location) without enqueueing', async () => {
    const key = `retry-${randomUUID()}`;
    const first = await api.request('POST', '/v1/tasks', { body: echo('retry me'), headers: withKey(key) });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const jobs = await totalJobs(api);

    const again = await api.request('POST', '/v1/tasks', { body: echo('retry me'), headers: withKey(key) });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(`/v1/tasks/${first.body.id}`);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await totalJobs(api)).toBe(jobs);
  });

  it('the same body with its keys in another order is the same request', async () => {
    const key = `order-${randomUUID()}`;
    const first = await api.request('POST', '/v1/tasks', {
      body: { role: 'echo', payload: { message: 'm', sleepMs: 1 }, options: { attempts: 2 } },
      headers: withKey(key),
    });
    const reordered = await api.request('POST', '/v1/tasks', {
      body: '{"options":{"attempts":2},"payload":{"sleepMs":1,"message":"m"},"role":"echo"}',
      headers: withKey(key),
    });
    expect(reordered.status).toBe(202);
    expect(reordered.body.id).toBe(first.body.id);
  });

  it('the same key with a different body is 422 IDEMPOTENCY_KEY_REUSED and enqueues nothing', async () => {
    const key = `reuse-${randomUUID()}`;
    expect((await api.request('POST', '/v1/tasks', { body: echo('first'), headers: withKey(key) })).status).toBe(202);
    const jobs = await totalJobs(api);

    const reused = await api.request('POST', '/v1/tasks', { body: echo('second'), headers: withKey(key) });
    expectError(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
    // A key of a single task cannot be reused for a batch either.
    const asBatch = await api.request('POST', '/v1/tasks/batch', { body: { tasks: [echo('first')] }, headers: withKey(key) });
    expectError(asBatch, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await totalJobs(api)).toBe(jobs);
  });

  it('keys belong to their API key: the same key from another API key is new work', async () => {
    const key = `shared-${randomUUID()}`;
    const mine = await api.request('POST', '/v1/tasks', { body: echo('same'), headers: withKey(key) });
    const theirs = await api.request('POST', '/v1/tasks', { body: echo('same'), headers: withKey(key, asOther) });
    expect([mine.status, theirs.status]).toEqual([202, 202]);
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    // And a different body is no reuse across API keys.
    const otherBody = await api.request('POST', '/v1/tasks', { body: echo('different'), headers: withKey(`${key}-x`, asOther) });
    expect(otherBody.status).toBe(202);
  });

  it.each([
    ['too long (256 characters)', 'k'.repeat(256)],
    ['empty', ''],
    ['containing a space', 'two words'],
  ])('a key %s is 400 VALIDATION_FAILED naming the header, and nothing is enqueued', async (_what, key) => {
    const jobs = await totalJobs(api);
    const response = await api.request('POST', '/v1/tasks', { body: echo('bad key'), headers: withKey(key) });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([expect.objectContaining({ field: 'headers.idempotency-key' })]);
    expect(await totalJobs(api)).toBe(jobs);
  });

  it('accepts a key of 255 visible ASCII characters', async () => {
    const key = `~!${'Z'.repeat(253)}`;
    const response = await api.request('POST', '/v1/tasks', { body: echo('long key'), headers: withKey(key) });
    expect(response.status).toBe(202);
  });
});

describe('Idempotency-Key on POST /v1/tasks/batch', () => {
  const batch = { tasks: [echo('a'), echo('b'), { role: 'echo', payload: { message: 'c' }, options: { delayMs: 600_000 } }] };

  it('a retried batch answers the same ids in the same order and enqueues the batch once', async () => {
    const key = `batch-${randomUUID()}`;
    const jobs = await totalJobs(api);
    const [first, second] = await Promise.all([
      api.request('POST', '/v1/tasks/batch', { body: batch, headers: withKey(key) }),
      api.request('POST', '/v1/tasks/batch', { body: batch, headers: withKey(key) }),
    ]);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.body).toEqual(first.body);
    expect(first.body.tasks.map((task: { state: string }) => task.state)).toEqual(['queued', 'queued', 'delayed']);
    expect(await totalJobs(api)).toBe(jobs + 3);

    const later = await api.request('POST', '/v1/tasks/batch', { body: batch, headers: withKey(key) });
    expect(later.status).toBe(202);
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    expect(later.body).toEqual(first.body);
    expect(await totalJobs(api)).toBe(jobs + 3);
  });

  it('the same key with another batch is 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const key = `batch-reuse-${randomUUID()}`;
    expect((await api.request('POST', '/v1/tasks/batch', { body: batch, headers: withKey(key) })).status).toBe(202);
    const jobs = await totalJobs(api);
    const other = await api.request('POST', '/v1/tasks/batch', { body: { tasks: [echo('a'), echo('b')] }, headers: withKey(key) });
    expectError(other, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await totalJobs(api)).toBe(jobs);
  });
});

describe('a first request that claimed its key but could not enqueue', () => {
  it('is completed by its retry: the claimed task is enqueued once, under the claimed id', async () => {
    const key = `crash-${randomUUID()}`;
    // Fault injection: BullMQ's add starts with INCR of the queue's id key; a non-number there makes
    // every add fail before it writes anything, after the key was claimed (as a dying replica would).
    const idKey = roleQueue(api.redis, env['QUEUE_PREFIX']!, 'echo').toKey('id');
    const counter = await api.redis.get(idKey);
    await api.redis.set(idKey, 'not-a-number');
    let failed;
    try {
      failed = await api.request('POST', '/v1/tasks', { body: echo('claimed'), headers: withKey(key) });
    } finally {
      await api.redis.set(idKey, counter ?? '0');
    }
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const jobs = await totalJobs(api);

    const retried = await api.request('POST', '/v1/tasks', { body: echo('claimed'), headers: withKey(key) });
    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(await totalJobs(api)).toBe(jobs + 1);
    expect(await api.task(retried.body.id)).toMatchObject({ id: retried.body.id, state: 'queued' });

    const again = await api.request('POST', '/v1/tasks', { body: echo('claimed'), headers: withKey(key) });
    expect(again.body).toEqual(retried.body);
    expect(await totalJobs(api)).toBe(jobs + 1);
  });
});

describe('OpenAPI', () => {
  it('documents the Idempotency-Key header and the 422, 429 and 503 answers of both submit routes', async () => {
    const response = await api.request('GET', '/docs/json', { auth: false });
    expect(response.status).toBe(200);
    for (const path of ['/v1/tasks', '/v1/tasks/batch']) {
      const post = response.body.paths[path].post;
      expect(post.parameters).toEqual(
        expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'idempotency-key', required: false })]),
      );
      expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['202', '400', '422', '429', '503']));
      expect(post.requestBody).toBeDefined();
    }
  });
});
