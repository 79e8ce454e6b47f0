import { randomBytes } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { newTaskId, type CancelledRecord, type TaskMessage } from '@taskyard/contracts';
import { jobOptionsFor } from './job-options';
import { RoleQueues } from './role-queues';
import { TaskStore } from './task-store';
import type { TaskSearch } from './task-index';
import { unsignedMessage } from './store.fixture';
import { TaskyardKeys } from './taskyard-keys';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const keys = new TaskyardKeys(prefix);
const roles = ['alpha', 'beta', 'work'];
const queues = new RoleQueues(redis, keys, roles);
const WINDOW_MS = 3_600_000;
const store = new TaskStore(redis, keys, queues, { windowMsOf: () => WINDOW_MS, maxEntries: 50 });
const settings = { attempts: 1, backoff: { type: 'exponential' as const, delayMs: 10, jitter: 0 } };
const retention = { ageSeconds: 600, count: 1000 };
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

afterAll(async () => {
  await queues.close();
  const found = [...(await redis.keys(`${prefix}:*`)), ...(await redis.keys(`${prefix}{*`))];
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

function message(role: string, at: number, metadata: Partial<TaskMessage['metadata']> = {}, id = newTaskId(role)): TaskMessage {
  const base = unsignedMessage(role);
  return { ...base, id, createdAt: new Date(at).toISOString(), metadata: { ...base.metadata, correlationId: id, ...metadata } };
}

async function add(messages: TaskMessage[], delayMs = 0): Promise<string[]> {
  await store.enqueue(messages.map((m) => ({ message: m, options: jobOptionsFor(settings, m.id, retention, delayMs ? { delayMs } : {}) })));
  return messages.map((m) => m.id);
}

/** Every page of a search, followed to its end. */
async function everyPage(search: Omit<TaskSearch, 'after'>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let after: TaskSearch['after'];
  let pages = 0;
  do {
    const page = await store.index.search({ ...search, after });
    ids.push(...page.items.map((item) => item.id));
    after = page.next;
    pages += 1;
  } while (after && pages < 1000);
  return { ids, pages };
}

describe('the task index', () => {
  const acme: string[] = [];
  const globex: string[] = [];
  let labelled: string[] = [];
  let chain: { root: string; children: string[] };

  beforeAll(async () => {
    // Ten tasks a millisecond apart per tenant, both roles, interleaved; three at one millisecond.
    for (let at = 0; at < 10; at += 1) {
      acme.push(...(await add([message(at % 2 ? 'alpha' : 'beta', T0 + at, { tenant: 'acme' })])));
      globex.push(...(await add([message('alpha', T0 + at, { tenant: 'globex' })])));
    }
    labelled = await add([
      message('alpha', T0 + 20, { labels: { customer: 'acme', tier: 'gold' } }),
      message('beta', T0 + 20, { labels: { customer: 'acme', tier: 'free' } }),
      message('alpha', T0 + 20, { labels: { customer: 'initech' } }),
    ]);
    const root = message('alpha', T0 + 30);
    chain = { root: root.id, children: await add([message('beta', T0 + 31, { correlationId: root.id }), message('alpha', T0 + 32, { correlationId: root.id })]) };
    await add([root]);
  });

  const newestFirst = (ids: string[], created: Map<string, number>) =>
    [...ids].sort((a, b) => created.get(b)! - created.get(a)! || (a < b ? 1 : a > b ? -1 : 0));

  it('finds a tenant\'s tasks of every role, newest first, and nobody else\'s', async () => {
    const page = await store.index.search({ roles, tenant: 'acme', limit: 100 });
    expect(page.items.map((item) => item.id)).toEqual([...acme].reverse());
    expect(page.items.every((item) => item.tenant === 'acme' && item.state === 'queued')).toBe(true);
    expect(page.next).toBeUndefined();
    const alpha = await store.index.search({ roles: ['alpha'], tenant: 'acme', limit: 100 });
    expect(alpha.items.map((item) => item.id)).toEqual(acme.filter((id) => id.startsWith('alpha_')).reverse());
  });

  it('pages through ties at one millisecond and across roles without repeating or skipping', async () => {
    const created = new Map<string, number>();
    const all = await store.index.search({ roles, limit: 100 });
    for (const item of all.items) created.set(item.id, Date.parse(item.createdAt));
    expect(all.items.map((item) => item.id)).toEqual(newestFirst([...created.keys()], created));
    for (const limit of [1, 2, 3, 7]) {
      const { ids } = await everyPage({ roles, limit });
      expect(ids).toEqual(all.items.map((item) => item.id));
    }
  });

  it('matches every label asked for, a correlation id with the task that names it, and a time range [after, before)', async () => {
    const gold = await store.index.search({ roles, labels: { customer: 'acme', tier: 'gold' }, limit: 10 });
    expect(gold.items.map((item) => item.id)).toEqual([labelled[0]]);
    expect(gold.items[0]!.labels).toEqual({ customer: 'acme', tier: 'gold' });
    const customer = await store.index.search({ roles, labels: { customer: 'acme' }, limit: 10 });
    expect(customer.items.map((item) => item.id).sort()).toEqual([labelled[0], labelled[1]].sort());
    const work = await store.index.search({ roles, correlationId: chain.root, limit: 10 });
    expect(work.items.map((item) => item.id)).toEqual([chain.children[1], chain.children[0], chain.root]);
    const paged = await everyPage({ roles, correlationId: chain.root, limit: 1 });
    expect(paged.ids).toEqual([chain.children[1], chain.children[0], chain.root]);
    const window = await store.index.search({ roles, tenant: 'acme', createdAfterMs: T0 + 3, createdBeforeMs: T0 + 6, limit: 10 });
    expect(window.items.map((item) => item.id)).toEqual([acme[5], acme[4], acme[3]]);
    const both = await store.index.search({ roles: ['alpha'], tenant: 'acme', createdAfterMs: T0 + 3, createdBeforeMs: T0 + 6, limit: 10 });
    expect(both.items.map((item) => item.id)).toEqual([acme[5], acme[3]]);
  });

  it('reads each task\'s state from BullMQ, and keeps a cancelled task whose job was removed', async () => {
    const [done, broken, later, cancelled] = await add(
      [message('work', T0 + 40, { labels: { run: 'states' } }), message('work', T0 + 41, { labels: { run: 'states' } })],
    ).then(async (ids) => [...ids, ...(await add([message('work', T0 + 42, { labels: { run: 'states' } })], 60_000)), ...(await add([message('work', T0 + 43, { labels: { run: 'states' } })]))]);
    // The cancelled one: its record, then its job removed, as DELETE /v1/tasks/:id does.
    const record: CancelledRecord = {
      status: 'cancelled',
      cancelledAt: T0 + 50,
      from: 'queued',
      task: { role: 'work', createdAt: new Date(T0 + 43).toISOString(), correlationId: cancelled!, causationId: null, labels: { run: 'states' }, attempts: 0, maxAttempts: 1, history: [{ state: 'queued', at: new Date(T0 + 43).toISOString() }] },
    };
    await redis.set(keys.message(cancelled!), JSON.stringify(record), 'PX', 60_000);
    await queues.get('work').remove(cancelled!);
    const worker = new Worker(
      'work',
      async (job) => {
        if (job.id === broken) throw new UnrecoverableError('broken');
        return 'ok';
      },
      { connection: redis.duplicate(), prefix: keys.queuePrefix('work') },
    );
    await Promise.all([done, broken].map((id) => new Promise<void>((resolve) => worker.on(id === done ? 'completed' : 'failed', () => resolve()))));
    await worker.close();
    const page = await store.index.search({ roles: ['work'], labels: { run: 'states' }, limit: 10 });
    expect(page.items.map((item) => [item.id, item.state])).toEqual([
      [cancelled, 'cancelled'],
      [later, 'delayed'],
      [broken, 'failed'],
      [done, 'completed'],
    ]);
    expect(page.items[0]!.finishedAt).toBe(new Date(T0 + 50).toISOString());
    for (const state of ['completed', 'failed', 'delayed', 'cancelled'] as const) {
      const only = await store.index.search({ roles: ['work'], state, limit: 10 });
      expect(only.items.map((item) => item.state)).toEqual([state]);
    }
  });

  it('drops an entry whose task retention removed, and bounds a busy index by count and by its window', async () => {
    const [gone] = await add([message('beta', T0 + 60, { labels: { run: 'gone' } })]);
    await queues.get('beta').remove(gone!);
    expect((await store.index.search({ roles: ['beta'], labels: { run: 'gone' }, limit: 10 })).items).toEqual([]);
    // The sweep takes it out of every index (a search only skips it).
    await store.index.sweep('beta');
    expect(await redis.zscore(keys.taskIndex('beta', { kind: 'label', name: 'run', value: 'gone' }), gone!)).toBeNull();
    // 200 tasks, ids ending in 0 trim (one in sixteen): the index keeps at most 50 (+ those since the last trim).
    const ids = Array.from({ length: 200 }, (_, at) => newTaskId('beta').slice(0, -1) + (at % 16 === 15 ? '0' : '1'));
    for (let at = 0; at < ids.length; at += 50) await add(ids.slice(at, at + 50).map((id, i) => message('beta', T0 + 100 + at + i, { labels: { run: 'busy' } }, id)));
    const index = keys.taskIndex('beta', { kind: 'label', name: 'run', value: 'busy' });
    expect(await redis.zcard(index)).toBeLessThanOrEqual(50 + 15);
    expect(await redis.zscore(index, ids.at(-1)!)).not.toBeNull();
    const ttl = await redis.pttl(index);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
    // A task created past the window of the newest trims everything older.
    const late = newTaskId('beta').slice(0, -1) + '0';
    await add([message('beta', T0 + 100 + WINDOW_MS + 1000, { labels: { run: 'busy' } }, late)]);
    expect(await redis.zrange(index, 0, -1)).toEqual([late]);
  });

  it('sweeps the tasks whose jobs retention removed out of every index they were in, keeping a cancelled one', async () => {
    const [kept, gone, cancelled] = await add([
      message('work', T0 + 70, { tenant: 'sweep', labels: { run: 'sweep' } }),
      message('work', T0 + 71, { tenant: 'sweep', labels: { run: 'sweep' } }),
      message('work', T0 + 72, { tenant: 'sweep', labels: { run: 'sweep' } }),
    ]);
    const record: CancelledRecord = {
      status: 'cancelled',
      cancelledAt: T0 + 80,
      from: 'queued',
      task: { role: 'work', createdAt: new Date(T0 + 72).toISOString(), correlationId: cancelled!, causationId: null, tenant: 'sweep', labels: { run: 'sweep' }, attempts: 0, maxAttempts: 1, history: [] },
    };
    await redis.set(keys.message(cancelled!), JSON.stringify(record), 'PX', 60_000);
    await queues.get('work').remove(gone!);
    await queues.get('work').remove(cancelled!);
    const facets = keys.taskIndexFacets('work');
    expect(await redis.hexists(facets, gone!)).toBe(1);
    expect(await store.index.sweep('work')).toBeGreaterThanOrEqual(1);
    for (const index of [keys.taskIndex('work'), keys.taskIndex('work', { kind: 'tenant', value: 'sweep' }), keys.taskIndex('work', { kind: 'label', name: 'run', value: 'sweep' })]) {
      expect(await redis.zrange(index, 0, -1)).toEqual(expect.arrayContaining([kept, cancelled]));
      expect(await redis.zscore(index, gone!)).toBeNull();
    }
    expect(await redis.hexists(facets, gone!)).toBe(0);
    expect(await redis.hexists(facets, kept!)).toBe(1);
    expect((await store.index.search({ roles: ['work'], tenant: 'sweep', limit: 10 })).items.map((item) => [item.id, item.state])).toEqual([
      [cancelled, 'cancelled'],
      [kept, 'queued'],
    ]);
  });

  it('sweeps in passes that go on where the last stopped, so long-lived old tasks hold up nothing', async () => {
    // Six old tasks that stay, then four whose jobs retention removed; each pass examines two.
    const staying = await add(Array.from({ length: 6 }, (_, at) => message('alpha', T0 - 100_000 + at, { labels: { run: 'passes' } })));
    const leaving = await add(Array.from({ length: 4 }, (_, at) => message('alpha', T0 - 90_000 + at, { labels: { run: 'passes' } })));
    for (const id of leaving) await queues.get('alpha').remove(id);
    const label = keys.taskIndex('alpha', { kind: 'label', name: 'run', value: 'passes' });
    let passes = 0;
    while ((await redis.zcard(label)) > staying.length && passes < 100) {
      await store.index.sweep('alpha', 2);
      passes += 1;
    }
    expect((await redis.zrange(label, 0, -1)).sort()).toEqual([...staying].sort());
    expect(passes).toBeGreaterThan(3);
  });

  it('stops a page after its budget at the end of a millisecond: its cursor names a time, not a task it did not answer', async () => {
    // 6000 queued tasks (three per millisecond), more than one page examines (SEARCH_BUDGET).
    const roomy = new TaskStore(redis, keys, queues, { windowMsOf: () => WINDOW_MS, maxEntries: 100_000 });
    const crowd = Array.from({ length: 6000 }, (_, at) => message('alpha', T0 + 10_000 + Math.floor(at / 3), { tenant: 'crowd' }));
    for (let at = 0; at < crowd.length; at += 500) {
      await roomy.enqueue(crowd.slice(at, at + 500).map((m) => ({ message: m, options: jobOptionsFor(settings, m.id, retention) })));
    }
    const first = await store.index.search({ roles: ['alpha'], state: 'completed', limit: 5 });
    expect(first.items).toEqual([]);
    expect(first.next).toBeDefined();
    expect(first.next!.after).toBe('');
    const { ids, pages } = await everyPage({ roles: ['alpha'], state: 'completed', limit: 5 });
    expect(ids).toEqual([]);
    expect(pages).toBeGreaterThan(1);
    // The tenant's own index is not crowded: its page is whole at once.
    const own = await store.index.search({ roles: ['alpha'], tenant: 'acme', limit: 100 });
    expect(own.items.map((item) => item.id)).toEqual(acme.filter((id) => id.startsWith('alpha_')).reverse());
  });
});
