import { describe, expect, it } from 'vitest';
import { bearer, key, KeyFile } from '../support/key-file';
import { usePlatform } from '../support/platform';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { expectError, waitForState } from './helpers';

const acme = key('acme-key', ['tasks:submit', 'tasks:read', 'tasks:cancel'], { tenant: 'acme' });
const globex = key('globex-key', ['tasks:submit', 'tasks:read'], { tenant: 'globex' });
const file = new KeyFile([acme, globex]);

describe('options.dedupe: BullMQ deduplication at enqueue, per role and tenant', () => {
  const { api } = usePlatform({ API_KEYS_FILE: file.path });
  const post = (entry: { secret: string }, body: unknown, headers: Record<string, string> = {}) =>
    api.request('POST', '/v1/tasks', { auth: false, headers: { ...bearer(entry), ...headers }, body });

  it('simple: a duplicate while the first is unfinished answers 200 with the first task; another tenant’s same key is its own; once the first is gone the key is free', async () => {
    const dedupe = { key: 'invoice-42', mode: 'simple' };
    const first = await post(acme, { role: 'echo', payload: { message: 'first' }, options: { delayMs: 600_000, dedupe } });
    expect(first.status).toBe(202);
    const again = await post(acme, { role: 'echo', payload: { message: 'again' }, options: { delayMs: 600_000, dedupe } });
    expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: { id: first.body.id, role: 'echo', state: 'delayed', deduplicated: true } });
    const theirs = await post(globex, { role: 'echo', payload: {}, options: { delayMs: 600_000, dedupe } });
    expect(theirs.status).toBe(202);
    expect(theirs.body.id).not.toBe(first.body.id);

    expect((await api.request('DELETE', `/v1/tasks/${first.body.id}`, { auth: false, headers: bearer(acme) })).status).toBe(200);
    const after = await post(acme, { role: 'echo', payload: {}, options: { dedupe } });
    expect(after.status).toBe(202);
    expect(after.body.id).not.toBe(first.body.id);
  });

  it('throttle: one task per window, even after it completed', async () => {
    const dedupe = { key: 'digest', mode: 'throttle', ttlMs: 1500 };
    const first = await post(acme, { role: 'echo', payload: { message: 'digest' }, options: { dedupe } });
    expect(first.status).toBe(202);
    await waitForState(api, first.body.id, 'completed');
    const within = await post(acme, { role: 'echo', payload: {}, options: { dedupe } });
    expect(within.body).toEqual({ id: first.body.id, role: 'echo', state: 'completed', deduplicated: true });
    const next = await waitFor('the window to pass', async () => {
      const response = await post(acme, { role: 'echo', payload: {}, options: { dedupe } });
      return response.status === 202 ? response : undefined;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(next.body.id).not.toBe(first.body.id);
  });

  it('debounce: each new task replaces the pending one and restarts the wait; only the last runs', async () => {
    const dedupe = { key: 'reindex', mode: 'debounce', ttlMs: 1500 };
    const first = await post(acme, { role: 'echo', payload: { message: 'a' }, options: { dedupe } });
    expect(first.body).toMatchObject({ state: 'delayed' });
    const last = await post(acme, { role: 'echo', payload: { message: 'b' }, options: { dedupe } });
    expect(last.status).toBe(202);
    expect(last.body.id).not.toBe(first.body.id);
    // The replaced task is gone, never run.
    expectError(await api.request('GET', `/v1/tasks/${first.body.id}`), 404, 'NOT_FOUND');
    expect((await waitForState(api, last.body.id, 'completed')).result.echo).toEqual({ message: 'b' });
  });

  it('dedupes inside one batch too, and refuses a dedupe with an Idempotency-Key or out of bounds', async () => {
    const dedupe = { key: 'batch-key', mode: 'simple' };
    const batch = await api.request('POST', '/v1/tasks/batch', {
      auth: false,
      headers: bearer(acme),
      body: { tasks: [{ role: 'echo', payload: {}, options: { delayMs: 600_000, dedupe } }, { role: 'echo', payload: {}, options: { delayMs: 600_000, dedupe } }] },
    });
    expect(batch.status).toBe(202);
    expect(batch.body.tasks[1]).toEqual({ id: batch.body.tasks[0].id, role: 'echo', state: 'delayed', deduplicated: true });

    const both = await post(acme, { role: 'echo', payload: {}, options: { dedupe: { key: 'x', mode: 'simple' } } }, { 'idempotency-key': 'retry-1' });
    expect(expectError(both, 400, 'VALIDATION_FAILED').details).toEqual([expect.objectContaining({ field: 'options.dedupe' })]);
    expect(expectError(await post(acme, { role: 'echo', payload: {}, options: { dedupe: { key: 'x', mode: 'throttle' } } }), 400, 'VALIDATION_FAILED').details).toEqual([
      expect.objectContaining({ field: 'body.options.dedupe.ttlMs' }),
    ]);
    expect(expectError(await post(acme, { role: 'echo', payload: {}, options: { dedupe: { key: 'x', mode: 'debounce', ttlMs: 8 * 86_400_000 } } }), 400, 'VALIDATION_FAILED').details).toEqual([
      expect.objectContaining({ field: 'body.options.dedupe.ttlMs' }),
    ]);
  });
});

describe('options.priority changes the order', () => {
  const { api, env } = usePlatform({ ROLES: 'echo', ROLE_ECHO_CONCURRENCY: '1' }, { workers: 0 });

  it('runs 5 high-priority tasks queued after 200 low-priority ones before half of those', async () => {
    const low = (await api.request('POST', '/v1/tasks/batch', { body: { tasks: Array.from({ length: 200 }, () => ({ role: 'echo', payload: {}, options: { priority: 100 } })) } })).body.tasks.map((task: { id: string }) => task.id) as string[];
    const high = (await api.request('POST', '/v1/tasks/batch', { body: { tasks: Array.from({ length: 5 }, () => ({ role: 'echo', payload: {}, options: { priority: 1 } })) } })).body.tasks.map((task: { id: string }) => task.id) as string[];
    const worker = new WorkerProcess(env);
    await worker.start();
    try {
      const startedAt = async (ids: string[]) => Promise.all(ids.map(async (id) => Date.parse((await waitForState(api, id, 'completed')).startedAt)));
      const lowStarts = (await startedAt(low)).sort((a, b) => a - b);
      const highStarts = await startedAt(high);
      expect(Math.max(...highStarts)).toBeLessThan(lowStarts[100]!);
    } finally {
      await worker.stop();
    }
  });

  it('takes priorities up to BullMQ\'s limit (2^21 - 1) and refuses one past it with a 400, not a 500', async () => {
    const highest = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: {}, options: { priority: 2 ** 21 - 1 } } });
    expect(highest.status, highest.text).toBe(202);
    const past = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: {}, options: { priority: 2 ** 21 } } });
    expect(past.status, past.text).toBe(400);
    expect(past.body.error.details).toEqual([expect.objectContaining({ field: 'body.options.priority' })]);
  });
});
