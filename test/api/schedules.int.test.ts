import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskyardKeys, ScheduleStore } from '@taskyard/store';
import { bearer, key, KeyFile } from '../support/key-file';
import { usePlatform } from '../support/platform';
import { testRedis } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { expectError, waitForState } from './helpers';

const ROLE_MODULES = resolve(__dirname, '../fixtures/roles/schedules.cjs');
const manage = ['schedules:manage', 'tasks:submit', 'tasks:read'];
const acme = key('acme-key', manage, { tenant: 'acme' });
const globex = key('globex-key', manage, { tenant: 'globex' });
const ops = key('ops', manage);
const noScheduleScope = key('submit-only', ['tasks:submit', 'tasks:read']);
const noRoleScope = key('echo-only', ['schedules:manage', 'tasks:submit:echo']);
const file = new KeyFile([acme, globex, ops, noScheduleScope, noRoleScope]);

const { api, env } = usePlatform({ ROLE_MODULES, ROLES: 'echo,tick,tick-guarded', API_KEYS_FILE: file.path, SCHEDULES_MAX_PER_TENANT: '10' });
const redis = testRedis();
const schedules = new ScheduleStore(redis, new TaskyardKeys(env['QUEUE_PREFIX']!));
afterAll(async () => {
  await schedules.close();
  redis.disconnect();
});

const as = (entry: { secret: string }) => ({ auth: false, headers: bearer(entry) });
const upsert = (entry: { secret: string }, body: Record<string, unknown>) => api.request('POST', '/v1/schedules', { ...as(entry), body });

/** The runs the fixture roles recorded, of schedule `id`. */
async function runsOf(id: string, tenant?: string): Promise<any[]> {
  const all = (await redis.lrange(`${env['QUEUE_PREFIX']}:sched:runs`, 0, -1)).map((raw) => JSON.parse(raw));
  return all.filter((run) => run.schedule === id && run.tenant === tenant);
}

describe('schedules: a role task on a timer, each run an ordinary signed task', () => {
  it('runs every second as a task from schedule:<id>, owned by the upserting key, one task per slot; GET shows next and last runs', async () => {
    const created = await upsert(ops, { id: 'heartbeat', role: 'tick', payload: { note: 'beat' }, every: 1000 });
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/schedules/heartbeat');
    expect(created.body).toMatchObject({ id: 'heartbeat', role: 'tick', every: 1000, payload: { note: 'beat' }, owner: 'ops', lastRuns: [] });
    expect(Date.parse(created.body.nextRunAt)).toBeGreaterThan(Date.now() - 2000);

    const runs = await waitFor('three runs', async () => {
      const found = await runsOf('heartbeat');
      return found.length >= 3 ? found : undefined;
    });
    for (const run of runs) expect(run).toMatchObject({ role: 'tick', source: 'schedule:heartbeat', owner: 'ops', payload: { note: 'beat' } });
    // One slot each, a second apart.
    const slots = runs.map((run) => Date.parse(run.scheduledFor));
    expect(new Set(slots).size).toBe(slots.length);
    for (let at = 1; at < 3; at++) expect(slots[at]! - slots[at - 1]!).toBe(1000);

    const view = await waitFor('GET to list the runs', async () => {
      const response = await api.request('GET', '/v1/schedules/heartbeat', as(ops));
      return response.body.lastRuns?.length >= 3 ? response.body : undefined;
    });
    const last = view.lastRuns[view.lastRuns.length - 1];
    expect(last).toMatchObject({ scheduledFor: runs[0].scheduledFor, taskId: runs[0].taskId });
    const task = await waitForState(api, last.taskId, 'completed');
    expect(task).toMatchObject({ role: 'tick', owner: 'ops', result: { scheduledFor: runs[0].scheduledFor } });
    expect(Date.parse(view.nextRunAt)).toBeGreaterThan(Date.parse(view.lastRuns[0].scheduledFor));
    expect((await api.request('DELETE', '/v1/schedules/heartbeat', as(ops))).status).toBe(204);
  });

  it('is an idempotent upsert: the same body again answers 200 and keeps createdAt; a new every takes over', async () => {
    const body = { id: 'upserted', role: 'tick', payload: {}, every: 60_000 };
    const first = await upsert(ops, body);
    expect(first.status).toBe(201);
    // An `every` schedule runs first at once (BullMQ's), then every `every`.
    await waitFor('the first run', async () => ((await runsOf('upserted')).length === 1 ? true : undefined));
    const before = await waitFor('the next run to be set', async () => {
      const view = (await api.request('GET', '/v1/schedules/upserted', as(ops))).body;
      return view.lastRuns.length === 1 ? view : undefined;
    });
    expect(Date.parse(before.nextRunAt) - Date.parse(before.lastRuns[0].scheduledFor)).toBe(60_000);
    const again = await upsert(ops, body);
    expect(again.status).toBe(200);
    expect(again.body.createdAt).toBe(first.body.createdAt);
    // The pending slot is kept: no run now, none twice.
    expect(again.body.nextRunAt).toBe(before.nextRunAt);
    expect(await schedules.queue.getJobSchedulersCount()).toBeGreaterThanOrEqual(1);
    const changed = await upsert(ops, { ...body, every: 120_000 });
    expect(changed.body).toMatchObject({ every: 120_000, createdAt: first.body.createdAt });
    const scheduler = await schedules.queue.getJobScheduler(ScheduleStore.internalId(undefined, 'upserted'));
    expect(scheduler).toMatchObject({ every: 120_000 });
    // One pending run, not one per upsert.
    const pending = (await schedules.queue.getDelayed()).filter((job) => job.data.schedule === ScheduleStore.internalId(undefined, 'upserted'));
    expect(pending).toHaveLength(1);
    expect((await api.request('DELETE', '/v1/schedules/upserted', as(ops))).status).toBe(204);
  });

  it('runs on a cron expression in a time zone', async () => {
    const created = await upsert(ops, { id: 'cron-tick', role: 'tick', payload: {}, cron: '* * * * * *', tz: 'Europe/Berlin' });
    expect(created.status, created.text).toBe(201);
    const runs = await waitFor('two cron runs', async () => {
      const found = await runsOf('cron-tick');
      return found.length >= 2 ? found : undefined;
    });
    expect(runs[0].source).toBe('schedule:cron-tick');
    expect((await api.request('DELETE', '/v1/schedules/cron-tick', as(ops))).status).toBe(204);
  });

  it('removes a schedule: 204, then 404, and BullMQ keeps no scheduler or pending run of it', async () => {
    expect((await upsert(ops, { id: 'short-lived', role: 'tick', payload: {}, every: 3_600_000 })).status).toBe(201);
    const removed = await api.request('DELETE', '/v1/schedules/short-lived', as(ops));
    expect(removed.status).toBe(204);
    expectError(await api.request('GET', '/v1/schedules/short-lived', as(ops)), 404, 'NOT_FOUND');
    expectError(await api.request('DELETE', '/v1/schedules/short-lived', as(ops)), 404, 'NOT_FOUND');
    const internalId = ScheduleStore.internalId(undefined, 'short-lived');
    expect(await schedules.queue.getJobScheduler(internalId)).toBeUndefined();
    expect((await schedules.queue.getDelayed()).filter((job) => job.data.schedule === internalId)).toEqual([]);
  });

  it('refuses a bad schedule with 400 naming the field, before anything is kept', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ id: 'x', role: 'tick', payload: {} }, 'every'],
      [{ id: 'x', role: 'tick', payload: {}, every: 1000, cron: '* * * * *' }, 'cron'],
      [{ id: 'x', role: 'tick', payload: {}, every: 999 }, 'every'],
      [{ id: 'x', role: 'tick', payload: {}, cron: 'every day at noon' }, 'cron'],
      [{ id: 'x', role: 'tick', payload: {}, cron: '0 12 * * *', tz: 'Mars/Olympus' }, 'tz'],
      [{ id: 'x', role: 'tick', payload: {}, every: 1000, startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' }, 'endAt'],
      [{ id: 'X Y', role: 'tick', payload: {}, every: 1000 }, 'id'],
      [{ id: 'x', role: 'tick', payload: { note: 5 }, every: 1000 }, 'payload.note'],
      [{ id: 'x', role: 'tick', payload: {}, every: 1000, options: { attempts: 99 } }, 'options.attempts'],
      [{ id: 'x', role: 'tick', payload: {}, every: 1000, options: { delayMs: 5 } }, 'options'],
    ];
    for (const [body, field] of cases) {
      const error = expectError(await upsert(ops, body), 400, 'VALIDATION_FAILED');
      const fields = (error.details as { field: string }[]).map((detail) => detail.field.replace(/^body\./, ''));
      expect(fields.some((named) => named.startsWith(field)), `${JSON.stringify(body)}: ${fields.join(', ')}`).toBe(true);
    }
    expectError(await upsert(ops, { id: 'x', role: 'nope', payload: {}, every: 1000 }), 404, 'UNKNOWN_ROLE');
    expectError(await api.request('GET', '/v1/schedules/x', as(ops)), 404, 'NOT_FOUND');
  });

  it("checks the role's acceptFrom against schedule:<id>", async () => {
    expect(expectError(await upsert(ops, { id: 'other', role: 'tick-guarded', payload: {}, every: 3_600_000 }), 403, 'FORBIDDEN').details).toEqual({ field: 'role' });
    expect((await upsert(ops, { id: 'allowed', role: 'tick-guarded', payload: {}, every: 1000 })).status).toBe(201);
    await waitFor('a run of the guarded role', async () => ((await runsOf('allowed')).length > 0 ? true : undefined));
    expect((await api.request('DELETE', '/v1/schedules/allowed', as(ops))).status).toBe(204);
  });

  it('needs schedules:manage, and the submit scope for the role', async () => {
    const body = { id: 'scoped', role: 'tick', payload: {}, every: 3_600_000 };
    expect(expectError(await upsert(noScheduleScope, body), 403, 'FORBIDDEN').details).toEqual({ scope: 'schedules:manage' });
    expectError(await api.request('GET', '/v1/schedules', as(noScheduleScope)), 403, 'FORBIDDEN');
    expect(expectError(await upsert(noRoleScope, body), 403, 'FORBIDDEN').details).toMatchObject({ scope: 'tasks:submit:tick' });
    expect((await upsert(noRoleScope, { ...body, role: 'echo' })).status).toBe(201);
    expect((await api.request('DELETE', '/v1/schedules/scoped', as(noRoleScope))).status).toBe(204);
  });

  it("does not let a tenant's schedule pass a role's exact schedule:<id>: ids are a tenant's own, so only schedule:* admits a tenant's", async () => {
    const error = expectError(await upsert(acme, { id: 'allowed', role: 'tick-guarded', payload: {}, every: 3_600_000 }), 403, 'FORBIDDEN');
    expect(error.details).toEqual({ field: 'role' });
  });
});

describe('schedules and tenants', () => {
  it("gives each tenant its own ids; a tenant key sees its own, an operator key every tenant's", async () => {
    const body = { id: 'nightly', role: 'tick', payload: {}, every: 3_600_000 };
    expect((await upsert(acme, body)).body).toMatchObject({ tenant: 'acme', owner: 'acme-key' });
    expect((await upsert(globex, { ...body, payload: { note: 'globex' } })).status).toBe(201);
    expect(expectError(await upsert(acme, { ...body, tenant: 'globex' }), 403, 'FORBIDDEN').details).toEqual({ field: 'tenant' });

    expect((await api.request('GET', '/v1/schedules/nightly', as(acme))).body).toMatchObject({ tenant: 'acme', payload: { note: 'tick' } });
    expect((await api.request('GET', '/v1/schedules/nightly', as(globex))).body).toMatchObject({ tenant: 'globex', payload: { note: 'globex' } });
    expectError(await api.request('GET', '/v1/schedules/nightly?tenant=globex', as(acme)), 404, 'NOT_FOUND');
    expect((await api.request('GET', '/v1/schedules/nightly?tenant=globex', as(ops))).body).toMatchObject({ tenant: 'globex' });

    const listed = (entry: { secret: string }) => api.request('GET', '/v1/schedules?limit=200', as(entry)).then((response) => response.body.items as any[]);
    expect((await listed(acme)).map((item) => [item.id, item.tenant])).toEqual([['nightly', 'acme']]);
    expect((await listed(ops)).filter((item) => item.id === 'nightly').map((item) => item.tenant).sort()).toEqual(['acme', 'globex']);

    expect((await api.request('DELETE', '/v1/schedules/nightly', as(acme))).status).toBe(204);
    expect((await api.request('GET', '/v1/schedules/nightly', as(globex))).status).toBe(200);
  });

  it("runs a tenant's schedule in its tenant", async () => {
    expect((await upsert(acme, { id: 'acme-beat', role: 'tick', payload: {}, every: 1000 })).status).toBe(201);
    const [run] = await waitFor('a run', async () => {
      const found = await runsOf('acme-beat', 'acme');
      return found.length > 0 ? found : undefined;
    });
    expect(run).toMatchObject({ tenant: 'acme', owner: 'acme-key', source: 'schedule:acme-beat' });
    expect((await api.request('DELETE', '/v1/schedules/acme-beat', as(acme))).status).toBe(204);
  });

  it('bounds the schedules per tenant (SCHEDULES_MAX_PER_TENANT) and pages through them with a cursor', async () => {
    // globex has "nightly" already: nine more make ten, its limit here.
    const ids = Array.from({ length: 9 }, (_, at) => `page-${at}`);
    for (const id of ids) expect((await upsert(globex, { id, role: 'tick', payload: {}, every: 3_600_000 })).status).toBeLessThan(300);
    const refused = expectError(await upsert(globex, { id: 'one-too-many', role: 'tick', payload: {}, every: 3_600_000 }), 409, 'SCHEDULE_LIMIT');
    expect(refused.details).toEqual({ limit: 10 });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await api.request('GET', `/v1/schedules?limit=3${cursor ? `&cursor=${cursor}` : ''}`, as(globex));
      expect(response.status, response.text).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...response.body.items.map((item: { id: string }) => item.id));
      cursor = response.body.nextCursor;
    } while (cursor);
    expect(seen.filter((id) => id.startsWith('page-')).sort()).toEqual(ids.sort());
    expect(new Set(seen).size).toBe(seen.length);
    expectError(await api.request('GET', '/v1/schedules?cursor=%21%21', as(globex)), 400, 'VALIDATION_FAILED');
  });
});

describe('the OpenAPI document', () => {
  it('documents the schedule routes from their schemas', async () => {
    const doc = (await api.request('GET', '/docs/json', { auth: false })).body;
    expect(Object.keys(doc.paths['/v1/schedules'])).toEqual(expect.arrayContaining(['post', 'get']));
    expect(Object.keys(doc.paths['/v1/schedules/{id}'])).toEqual(expect.arrayContaining(['get', 'delete']));
    const body = doc.paths['/v1/schedules'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['id', 'role', 'payload', 'every', 'cron', 'tz', 'startAt', 'endAt', 'options', 'tenant']));
    expect(body.properties.every).toMatchObject({ minimum: 1000 });
    expect(Object.keys(doc.paths['/v1/schedules'].post.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '403', '409']));
    const view = doc.paths['/v1/schedules/{id}'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(view.properties)).toEqual(expect.arrayContaining(['nextRunAt', 'lastRuns', 'owner']));
    expect(doc.paths['/v1/schedules'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(expect.arrayContaining(['limit', 'cursor']));
  });
});
