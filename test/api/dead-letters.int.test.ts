import { resolve } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskyardKeys } from '@taskyard/store';
import { usePlatform } from '../support/platform';
import { testRedis } from '../support/test-env';
import type { ApiServer } from '../support/api-server';
import { waitFor } from '../support/wait-for';
import { expectError, metricValue, roleCounts, waitForState } from './helpers';

const DEAD_LETTER_ROLES = resolve(__dirname, '../fixtures/roles/dead-letters.cjs');
// dl-broken accepts one task not yet started: enough for these tests, which wait for each task.
const PLATFORM = { ROLE_MODULES: DEAD_LETTER_ROLES, ROLES: 'echo,dl-flaky,dl-broken', ROLE_DL_BROKEN_MAX_QUEUE_DEPTH: '1' };

const { api, env, worker } = usePlatform(PLATFORM);
const prefix = env['QUEUE_PREFIX']!;
let redis: Redis | Cluster;

beforeAll(() => {
  redis = testRedis({ maxRetriesPerRequest: 1 });
});
afterAll(() => redis.disconnect());

/** Marks a dl-flaky downstream as recovered: its tasks succeed from then on. */
const recover = (downstream: string) => redis.set(`${prefix}:test:recovered:${downstream}`, '1');

/** Submits a task that fails for good and returns its id once it reads failed (its dead letter exists by then). */
async function deadTask(api: ApiServer, role: 'dl-broken' | 'dl-flaky', payload: Record<string, unknown>, attempts?: number): Promise<string> {
  const id = await api.submit(role, payload, attempts ? { options: { attempts } } : {});
  await waitForState(api, id, 'failed');
  return id;
}

async function listAll(query = ''): Promise<any[]> {
  const response = await api.request('GET', `/v1/dead-letters?limit=1000${query}`);
  expect(response.status).toBe(200);
  return response.body.items;
}

describe('a task that fails for good', () => {
  it('is dead-lettered after one attempt when the error is permanent: signed message, error, timestamps; the task links to it', async () => {
    const id = await api.submit('dl-broken', { n: 1 }, { metadata: { correlationId: 'dl-permanent' } });
    const task = await waitForState(api, id, 'failed');
    expect(task).toMatchObject({ state: 'failed', attempts: 1, deadLetter: `/v1/dead-letters/${id}` });

    const response = await api.request('GET', task.deadLetter);
    expect(response.status).toBe(200);
    const letter = response.body;
    expect(letter).toMatchObject({
      id,
      role: 'dl-broken',
      reason: 'permanent-error',
      error: { code: 'DL_BROKEN', class: 'permanent', message: 'the input can never be processed' },
      maxAttempts: 3,
      correlationId: 'dl-permanent',
      createdAt: task.createdAt,
    });
    expect(letter.attempts).toEqual([
      expect.objectContaining({ kind: 'attempt-failed', attempt: 1, willRetry: false, error: letter.error }),
    ]);
    expect(Date.parse(letter.deadAt)).toBeGreaterThanOrEqual(Date.parse(letter.createdAt));
    expect(Date.parse(letter.deadAt)).toBe(letter.attempts[0].failedAt);
    // The message as the API signed it.
    expect(letter.message).toMatchObject({ id, role: 'dl-broken', payload: { n: 1 }, metadata: { correlationId: 'dl-permanent', causationId: null } });
    expect(letter.message.signature).toMatchObject({ kid: 'k1', alg: expect.any(String), value: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const metrics = await worker.metrics();
    expect(metricValue(metrics, 'taskyard_dead_letters_total', { role: 'dl-broken' })).toBeGreaterThanOrEqual(1);
  });

  it('is dead-lettered with every attempt’s error when it runs out of attempts', async () => {
    const id = await deadTask(api, 'dl-flaky', { downstream: 'never' }, 2);
    const letter = (await api.request('GET', `/v1/dead-letters/${id}`)).body;
    expect(letter).toMatchObject({ reason: 'attempts-exhausted', maxAttempts: 2, error: { code: 'DOWNSTREAM_DOWN', class: 'transient' } });
    expect(letter.attempts.map((attempt: any) => [attempt.attempt, attempt.willRetry, attempt.error.code])).toEqual([
      [1, true, 'DOWNSTREAM_DOWN'],
      [2, false, 'DOWNSTREAM_DOWN'],
    ]);
  });

  it('a task that completes, or fails and will retry, has no dead letter', async () => {
    const done = await api.submit('echo', { message: 'fine' });
    const task = await waitForState(api, done, 'completed');
    expect(task.deadLetter).toBeUndefined();
    expectError(await api.request('GET', `/v1/dead-letters/${done}`), 404, 'NOT_FOUND');

    const retrying = await api.submit('dl-flaky', { downstream: 'slow' });
    await waitFor('the first attempt to fail', async () => (await api.task(retrying))?.attempts >= 1);
    expectError(await api.request('GET', `/v1/dead-letters/${retrying}`), 404, 'NOT_FOUND');
    await recover('slow');
    expect((await waitForState(api, retrying, 'completed')).deadLetter).toBeUndefined();
  });
});

describe('GET /v1/dead-letters', () => {
  let broken: string[] = [];
  let flaky: string[] = [];

  beforeAll(async () => {
    // One at a time, so their death times are ordered.
    broken = [];
    for (let n = 0; n < 3; n++) broken.push(await deadTask(api, 'dl-broken', { n }));
    flaky = [await deadTask(api, 'dl-flaky', { downstream: 'list' }, 1)];
  });

  it('lists newest first, as summaries without the message', async () => {
    const items = await listAll();
    const ours = items.filter((item) => [...broken, ...flaky].includes(item.id)).map((item) => item.id);
    expect(ours).toEqual([...flaky, ...broken.slice().reverse()]);
    const deadAts = items.map((item) => Date.parse(item.deadAt));
    expect(deadAts).toEqual(deadAts.slice().sort((a, b) => b - a));
    const summary = items.find((item) => item.id === flaky[0]);
    expect(summary).toMatchObject({ id: flaky[0], role: 'dl-flaky', reason: 'attempts-exhausted', attempts: 1, error: { code: 'DOWNSTREAM_DOWN' } });
    expect(summary.message).toBeUndefined();
  });

  it('filters by role', async () => {
    const items = await listAll('&role=dl-flaky');
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((item) => item.role === 'dl-flaky')).toBe(true);
    expect(items.map((item) => item.id)).toContain(flaky[0]);
    expect(items.map((item) => item.id)).not.toContain(broken[0]);
  });

  it('pages with a cursor: every dead letter once, in order, and nextCursor null on the last page', async () => {
    const all = (await listAll()).map((item) => item.id);
    expect(all.length).toBeGreaterThanOrEqual(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const response = await api.request('GET', `/v1/dead-letters?limit=2${query}`);
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.body.items.map((item: any) => item.id));
      cursor = response.body.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 2));
  });

  it('a page boundary survives replays and deletions before it', async () => {
    const first = await api.request('GET', '/v1/dead-letters?limit=1&role=dl-broken');
    const [newest] = first.body.items;
    expect(newest.id).toBe(broken[2]);
    expect((await api.request('DELETE', `/v1/dead-letters/${newest.id}`)).status).toBe(204);
    const next = await api.request('GET', `/v1/dead-letters?limit=1&role=dl-broken&cursor=${first.body.nextCursor}`);
    expect(next.body.items.map((item: any) => item.id)).toEqual([broken[1]]);
  });

  it('refuses a bad cursor, limit, role or parameter with a clear error', async () => {
    for (const cursor of ['nonsense!', 'bm9uc2Vuc2U', Buffer.from('[1,2]').toString('base64url')]) {
      const error = expectError(await api.request('GET', `/v1/dead-letters?cursor=${encodeURIComponent(cursor)}`), 400, 'VALIDATION_FAILED');
      expect(JSON.stringify(error.details)).toContain('cursor');
    }
    for (const limit of ['0', '1001', 'abc', '1.5', '-1']) {
      const error = expectError(await api.request('GET', `/v1/dead-letters?limit=${limit}`), 400, 'VALIDATION_FAILED');
      expect(JSON.stringify(error.details)).toContain('limit');
    }
    expectError(await api.request('GET', '/v1/dead-letters?role=nope'), 404, 'UNKNOWN_ROLE');
    expectError(await api.request('GET', '/v1/dead-letters?role=Not%20A%20Role'), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/dead-letters?colour=red'), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/dead-letters', { auth: false }), 401, 'UNAUTHORIZED');
  });

  it('answers the default page of 50 and limit 1000', async () => {
    const response = await api.request('GET', '/v1/dead-letters');
    expect(response.status).toBe(200);
    expect(response.body.items.length).toBeLessThanOrEqual(50);
    expect(response.body).toHaveProperty('nextCursor');
    expect((await api.request('GET', '/v1/dead-letters?limit=1000')).status).toBe(200);
  });
});

describe('DELETE /v1/dead-letters/:id', () => {
  it('removes it (204), after which it is gone from GET, the list and the task view; a second delete is 404', async () => {
    const id = await deadTask(api, 'dl-broken', { n: 99 });
    const deleted = await api.request('DELETE', `/v1/dead-letters/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectError(await api.request('GET', `/v1/dead-letters/${id}`), 404, 'NOT_FOUND');
    expect((await listAll()).map((item) => item.id)).not.toContain(id);
    const task = await api.task(id);
    expect(task.state).toBe('failed');
    expect(task.deadLetter).toBeUndefined();
    expectError(await api.request('DELETE', `/v1/dead-letters/${id}`), 404, 'NOT_FOUND');
    expectError(await api.request('DELETE', `/v1/dead-letters/${'x'.repeat(129)}`), 404, 'NOT_FOUND');
  });
});

describe('POST /v1/dead-letters/:id/replay', () => {
  it('enqueues a derived task (new id, causation → the dead task), removes the dead letter, and the new task completes', async () => {
    const deadId = await api.submit('dl-flaky', { downstream: 'replay-one', note: 'keep me' }, { options: { attempts: 1 }, metadata: { correlationId: 'dl-replay', labels: { team: 'a' } } });
    await waitForState(api, deadId, 'failed');
    await recover('replay-one');

    const response = await api.request('POST', `/v1/dead-letters/${deadId}/replay`);
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id: expect.any(String), role: 'dl-flaky', state: 'queued', deadLetterId: deadId });
    const newId = response.body.id as string;
    expect(newId).not.toBe(deadId);
    expect(response.headers.get('location')).toBe(`/v1/tasks/${newId}`);

    const replayed = await waitForState(api, newId, 'completed');
    expect(replayed).toMatchObject({ causationId: deadId, correlationId: 'dl-replay', result: { ok: true, attempt: 1 } });
    expectError(await api.request('GET', `/v1/dead-letters/${deadId}`), 404, 'NOT_FOUND');
    const dead = await api.task(deadId);
    expect(dead.state).toBe('failed');
    expect(dead.deadLetter).toBeUndefined();
    expectError(await api.request('POST', `/v1/dead-letters/${deadId}/replay`), 404, 'NOT_FOUND');
  });

  it('a replayed task that fails again is dead-lettered again, under its own id', async () => {
    const deadId = await deadTask(api, 'dl-broken', { n: 7 });
    const replay = await api.request('POST', `/v1/dead-letters/${deadId}/replay`);
    expect(replay.status).toBe(202);
    await waitForState(api, replay.body.id, 'failed');
    const again = await api.request('GET', `/v1/dead-letters/${replay.body.id}`);
    expect(again.status).toBe(200);
    expect(again.body.message.metadata.causationId).toBe(deadId);
  });

  it('two (or ten) concurrent replays of one dead letter enqueue one task', async () => {
    const deadId = await deadTask(api, 'dl-flaky', { downstream: 'race' }, 1);
    await recover('race');
    const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, count) => sum + count, 0);
    const before = total(await roleCounts(api, 'dl-flaky'));

    const responses = await Promise.all(Array.from({ length: 10 }, () => api.request('POST', `/v1/dead-letters/${deadId}/replay`)));
    const accepted = responses.filter((response) => response.status === 202);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    for (const response of responses.filter((candidate) => candidate.status !== 202)) expectError(response, 404, 'NOT_FOUND');
    const newIds = new Set(accepted.map((response) => response.body.id));
    expect(newIds.size).toBe(1);

    await waitForState(api, [...newIds][0], 'completed');
    expect(total(await roleCounts(api, 'dl-flaky'))).toBe(before + 1);
  });

  it('refuses a dead letter whose message was altered in Redis (422 DEAD_LETTER_INVALID) and keeps it', async () => {
    const deadId = await deadTask(api, 'dl-broken', { n: 1 });
    const key = new TaskyardKeys(prefix).deadLetter(deadId);
    const letter = JSON.parse((await redis.get(key))!);
    letter.message.payload.n = 1_000_000;
    await redis.set(key, JSON.stringify(letter), 'KEEPTTL');

    const error = expectError(await api.request('POST', `/v1/dead-letters/${deadId}/replay`), 422, 'DEAD_LETTER_INVALID');
    expect(error.details).toEqual({ code: 'SIGNATURE_INVALID' });
    expect(error.message).toContain(deadId);
    expect((await api.request('GET', `/v1/dead-letters/${deadId}`)).status).toBe(200);
    expect((await api.request('DELETE', `/v1/dead-letters/${deadId}`)).status).toBe(204);
  });

  it('answers 404 for an unknown id', async () => {
    expectError(await api.request('POST', '/v1/dead-letters/00000000-0000-4000-8000-000000000000/replay'), 404, 'NOT_FOUND');
  });
});

describe('POST /v1/dead-letters/replay (bulk)', () => {
  it('replays the given ids of a role, and reports what it could not', async () => {
    const [a, b] = [await deadTask(api, 'dl-flaky', { downstream: 'bulk-ids' }, 1), await deadTask(api, 'dl-flaky', { downstream: 'bulk-ids' }, 1)];
    const other = await deadTask(api, 'dl-broken', { n: 3 });
    await recover('bulk-ids');
    const missing = '00000000-0000-4000-8000-000000000001';

    const response = await api.request('POST', '/v1/dead-letters/replay', { body: { role: 'dl-flaky', ids: [a, b, a, missing, other] } });
    expect(response.status).toBe(202);
    expect(response.body.replayed.map((entry: any) => entry.deadLetterId)).toEqual([a, b]);
    expect(response.body.notFound).toEqual([missing]);
    expect(response.body.refused).toEqual([{ id: other, code: 'ROLE_MISMATCH', message: expect.stringContaining('dl-broken') }]);
    expect(response.body.remaining).toEqual(expect.any(Number));
    for (const entry of response.body.replayed) {
      const task = await waitForState(api, entry.id, 'completed');
      expect(task.causationId).toBe(entry.deadLetterId);
    }
    expect((await api.request('GET', `/v1/dead-letters/${other}`)).status).toBe(200);
  });

  it('without ids replays the role’s dead letters, oldest first, until none remain', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push(await deadTask(api, 'dl-flaky', { downstream: 'bulk-all', note: String(n) }, 1));
    // Every dl-flaky downstream of this file recovers, so no replay below dies again.
    await Promise.all(['never', 'list', 'bulk-all'].map(recover));
    const before = (await listAll('&role=dl-flaky')).map((item) => item.id);
    expect(before).toEqual(expect.arrayContaining(ids));

    const response = await api.request('POST', '/v1/dead-letters/replay', { body: { role: 'dl-flaky' } });
    expect(response.status).toBe(202);
    expect(response.body.replayed.map((entry: any) => entry.deadLetterId)).toEqual(before.slice().reverse());
    expect(response.body).toMatchObject({ notFound: [], refused: [], remaining: 0 });
    expect(await listAll('&role=dl-flaky')).toEqual([]);
    for (const id of ids) {
      const entry = response.body.replayed.find((candidate: any) => candidate.deadLetterId === id);
      await waitForState(api, entry.id, 'completed');
    }
  });

  it('refuses an unknown role or a malformed body', async () => {
    expectError(await api.request('POST', '/v1/dead-letters/replay', { body: { role: 'nope' } }), 404, 'UNKNOWN_ROLE');
    expectError(await api.request('POST', '/v1/dead-letters/replay', { body: {} }), 400, 'VALIDATION_FAILED');
    expectError(await api.request('POST', '/v1/dead-letters/replay', { body: { role: 'dl-flaky', ids: [] } }), 400, 'VALIDATION_FAILED');
    const tooMany = Array.from({ length: 1001 }, (_, n) => `id-${n}`);
    expectError(await api.request('POST', '/v1/dead-letters/replay', { body: { role: 'dl-flaky', ids: tooMany } }), 400, 'VALIDATION_FAILED');
    expectError(await api.request('POST', '/v1/dead-letters/replay', { body: { role: 'dl-flaky', extra: 1 } }), 400, 'VALIDATION_FAILED');
    expectError(await api.request('POST', '/v1/dead-letters/replay', { body: 'not json' }), 400, 'INVALID_JSON');
  });
});

describe('a role at its maxQueueDepth', () => {
  it('refuses replays with 429 QUEUE_FULL and keeps the dead letters', async () => {
    const deadId = await deadTask(api, 'dl-broken', { n: 42 });
    // One delayed task fills dl-broken's queue (ROLE_DL_BROKEN_MAX_QUEUE_DEPTH=1).
    await api.submit('dl-broken', { n: 43 }, { options: { delayMs: 600_000 } });
    const single = expectError(await api.request('POST', `/v1/dead-letters/${deadId}/replay`), 429, 'QUEUE_FULL');
    expect(single.details).toMatchObject({ role: 'dl-broken', limit: 1, requested: 1 });
    expectError(await api.request('POST', '/v1/dead-letters/replay', { body: { role: 'dl-broken' } }), 429, 'QUEUE_FULL');
    expect((await api.request('GET', `/v1/dead-letters/${deadId}`)).status).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('documents the dead letter routes under their tag', async () => {
    const doc = (await api.request('GET', '/docs/json', { auth: false })).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/dead-letters', '/v1/dead-letters/{id}', '/v1/dead-letters/{id}/replay', '/v1/dead-letters/replay']),
    );
    expect(doc.paths['/v1/dead-letters/{id}'].delete.tags).toEqual(['dead-letters']);
    expect(Object.keys(doc.paths['/v1/dead-letters/{id}/replay'].post.responses)).toEqual(expect.arrayContaining(['202', '404', '422', '429']));
    expect(doc.paths['/v1/dead-letters'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(
      expect.arrayContaining(['role', 'limit', 'cursor']),
    );
  });
});

describe('DEAD_LETTER_TTL', () => {
  const short = usePlatform({ ...PLATFORM, DEAD_LETTER_TTL: '2s' });

  it('a dead letter is kept until the TTL passes, then it is gone from GET, the list and the task view', async () => {
    const id = await deadTask(short.api, 'dl-broken', { n: 1 });
    expect((await short.api.task(id)).deadLetter).toBe(`/v1/dead-letters/${id}`);
    expect((await short.api.request('GET', `/v1/dead-letters/${id}`)).status).toBe(200);

    await waitFor('the dead letter to expire', async () => (await short.api.request('GET', `/v1/dead-letters/${id}`)).status === 404, {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    const list = await short.api.request('GET', '/v1/dead-letters');
    expect(list.body).toEqual({ items: [], nextCursor: null });
    const task = await short.api.task(id);
    expect(task.state).toBe('failed');
    expect(task.deadLetter).toBeUndefined();
    expectError(await short.api.request('POST', `/v1/dead-letters/${id}/replay`), 404, 'NOT_FOUND');
  });
});
