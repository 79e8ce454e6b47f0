import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { roleQueue } from '../support/role-queue';
import { expectError, roleCounts } from './helpers';

// No worker: every accepted task stays queued, so the queue depth is exactly what was accepted.
const { api, env } = usePlatform({ ROLE_ECHO_MAX_QUEUE_DEPTH: '5' }, { workers: 0 });

const echo = (message: string, extra: Record<string, unknown> = {}) => ({ role: 'echo', payload: { message }, ...extra });
const notStarted = (counts: Record<string, number>) => counts['queued']! + counts['delayed']!;

let queue: Queue | undefined;
afterAll(async () => {
  await queue?.close();
});

// The tests run in order and share one echo queue that fills up to its limit of 5.
describe('backpressure: a role with maxQueueDepth 5', () => {
  it('GET /v1/roles shows the limit (from ROLE_ECHO_MAX_QUEUE_DEPTH), and only on that role', async () => {
    const response = await api.request('GET', '/v1/roles');
    expect(response.status).toBe(200);
    const roles = response.body.roles as { name: string; maxQueueDepth?: number }[];
    expect(roles.find((role) => role.name === 'echo')?.maxQueueDepth).toBe(5);
    expect(roles.find((role) => role.name === 'docs.ingest')?.maxQueueDepth).toBeUndefined();
  });

  it('accepts up to the limit, counting delayed and prioritised tasks too', async () => {
    await api.submit('echo', { message: 'plain-1' });
    await api.submit('echo', { message: 'later' }, { options: { delayMs: 600_000 } });
    await api.submit('echo', { message: 'urgent' }, { options: { priority: 1 } });
    expect(notStarted(await roleCounts(api, 'echo'))).toBe(3);
  });

  it('rejects a batch that would cross the limit whole: 429 QUEUE_FULL, nothing of it enqueued', async () => {
    const response = await api.request('POST', '/v1/tasks/batch', {
      body: { tasks: [echo('b1'), echo('b2'), { role: 'docs.ingest', payload: { title: 'T', text: 'x' } }, echo('b3')] },
    });
    const error = expectError(response, 429, 'QUEUE_FULL');
    expect(error.details).toEqual({ role: 'echo', depth: 3, limit: 5, requested: 3 });
    expect(response.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(notStarted(await roleCounts(api, 'echo'))).toBe(3);
    // The unlimited role's task of the refused batch was not enqueued either.
    expect(notStarted(await roleCounts(api, 'docs.ingest'))).toBe(0);
  });

  it('accepts a batch that exactly reaches the limit', async () => {
    const response = await api.request('POST', '/v1/tasks/batch', { body: { tasks: [echo('b4'), echo('b5')] } });
    expect(response.status).toBe(202);
    expect(notStarted(await roleCounts(api, 'echo'))).toBe(5);
  });

  it('answers the 6th task 429 QUEUE_FULL with Retry-After and details naming role, depth and limit', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: echo('sixth') });
    const error = expectError(response, 429, 'QUEUE_FULL');
    expect(error.details).toEqual({ role: 'echo', depth: 5, limit: 5, requested: 1 });
    expect(error.message).toContain('echo');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(notStarted(await roleCounts(api, 'echo'))).toBe(5);
  });

  it('keeps accepting tasks of roles without a limit', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'docs.ingest', payload: { title: 'T', text: 'x' } } });
    expect(response.status).toBe(202);
  });

  it('refuses a new idempotent request when full without claiming its key: once there is room, the key enqueues', async () => {
    const headers = { 'idempotency-key': 'flow-control-late' };
    const refused = await api.request('POST', '/v1/tasks', { body: echo('late'), headers });
    expectError(refused, 429, 'QUEUE_FULL');

    // Make room: remove one waiting task, as a worker taking it would.
    queue = roleQueue(api.redis, env['QUEUE_PREFIX']!, 'echo');
    const [waiting] = await queue.getJobs(['wait'], 0, 0);
    await waiting!.remove();

    const accepted = await api.request('POST', '/v1/tasks', { body: echo('late'), headers });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('idempotent-replayed')).toBeNull();
    expect((await api.task(accepted.body.id))?.state).toBe('queued');
    expect(notStarted(await roleCounts(api, 'echo'))).toBe(5);

    // Full again, but repeating the accepted request is a replay, not new work: 202, not 429.
    const replayed = await api.request('POST', '/v1/tasks', { body: echo('late'), headers });
    expect(replayed.status).toBe(202);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual(accepted.body);
    expect(notStarted(await roleCounts(api, 'echo'))).toBe(5);
  });
});
