import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, key, KeyFile } from '../support/key-file';
import { usePlatform } from '../support/platform';
import { testRedis } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { expectError, metricValue } from './helpers';

const scopes = ['tasks:submit', 'tasks:read'];
const acme = key('acme-key', scopes, { tenant: 'acme' });
const globex = key('globex-key', scopes, { tenant: 'globex' });
const ops = key('ops', ['admin']);
const file = new KeyFile([acme, globex, ops]);

const { api, env, worker } = usePlatform({
  API_KEYS_FILE: file.path,
  ROLE_MODULES: resolve(__dirname, '../fixtures/roles/fair.cjs'),
  ROLES: 'fair-work,plain-work,fair-limited,fair-rated',
});
const redis = testRedis();
afterAll(() => redis.disconnect());

interface Run {
  tenant: string | null;
  n: number;
  start: number;
  end: number;
}
const runs = async (role: string): Promise<Run[]> => (await redis.lrange(`${env['QUEUE_PREFIX']}:runs:${role}`, 0, -1)).map((raw) => JSON.parse(raw) as Run);
const waitForRuns = (role: string, count: number, timeoutMs = 30_000) =>
  waitFor(`${count} runs of ${role}`, async () => ((await runs(role)).length >= count ? runs(role) : undefined), { timeoutMs, intervalMs: 100 });

/** POST /v1/tasks/batch as `entry`: `count` tasks of `role` with `payload` (numbered `n`), in batches of at most 1000. */
async function submitAs(entry: { secret: string }, role: string, count: number, payload: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < count; from += 1000) {
    const tasks = Array.from({ length: Math.min(1000, count - from) }, (_, at) => ({ role, payload: { ...payload, n: from + at }, ...extra }));
    const response = await api.request('POST', '/v1/tasks/batch', { auth: false, headers: bearer(entry), body: { tasks } });
    expect(response.status, response.text).toBe(202);
    ids.push(...(response.body.tasks as { id: string }[]).map((task) => task.id));
  }
  return ids;
}

/**
 * Tenant acme floods 2000 tasks, then tenant globex submits 20. Answers how many of acme's had
 * finished when globex's last one did, and when that was next to acme's 1000th (API finishedAt).
 */
async function floodThenLate(role: string): Promise<{ acmeDoneBeforeGlobex: number; globexLastFinishedAt: number; acmeHalfDoneAt: number }> {
  const acmeIds = await submitAs(acme, role, 2000, { workMs: 2 });
  const globexIds = await submitAs(globex, role, 20, { workMs: 2 });
  const done = await waitForRuns(role, 2020, 45_000);
  const lastOfGlobex = done.map((run) => run.tenant).lastIndexOf('globex');
  const acmeDoneBeforeGlobex = done.slice(0, lastOfGlobex).filter((run) => run.tenant === 'acme').length;
  // What a user sees: the tasks' finishedAt, read through the API.
  const finishedAt = async (ids: readonly string[]) => Promise.all(ids.map(async (id) => Date.parse((await api.task(id))!.finishedAt as string)));
  const globexLastFinishedAt = Math.max(...(await finishedAt(globexIds)));
  const acmeHalf = done.filter((run) => run.tenant === 'acme')[999]!;
  const [acmeHalfDoneAt] = await finishedAt([acmeIds[acmeHalf.n]!]);
  expect(acmeIds).toHaveLength(2000);
  return { acmeDoneBeforeGlobex, globexLastFinishedAt, acmeHalfDoneAt: acmeHalfDoneAt! };
}

describe('fair roles: the tenants with waiting tasks take turns', () => {
  it("finishes a late tenant's 20 tasks before half of a flooding tenant's 2000 are done", async () => {
    const { acmeDoneBeforeGlobex, globexLastFinishedAt, acmeHalfDoneAt } = await floodThenLate('fair-work');
    expect(acmeDoneBeforeGlobex).toBeLessThan(1000);
    expect(globexLastFinishedAt).toBeLessThan(acmeHalfDoneAt);
  });

  it('without `fair`, the same flood starves the late tenant: its tasks wait behind the whole backlog', async () => {
    const { acmeDoneBeforeGlobex, globexLastFinishedAt, acmeHalfDoneAt } = await floodThenLate('plain-work');
    expect(acmeDoneBeforeGlobex).toBeGreaterThanOrEqual(1000);
    expect(globexLastFinishedAt).toBeGreaterThan(acmeHalfDoneAt);
  });

  it("refuses a task's own priority on a fair role, with a 400 naming the field", async () => {
    const single = await api.request('POST', '/v1/tasks', { body: { role: 'fair-work', payload: {}, options: { priority: 1 } } });
    expect(expectError(single, 400, 'VALIDATION_FAILED').details).toEqual([{ field: 'options.priority', message: expect.stringMatching(/role "fair-work" is fair/) }]);
    const batch = await api.request('POST', '/v1/tasks/batch', { body: { tasks: [{ role: 'plain-work', payload: {}, options: { priority: 1 } }, { role: 'fair-work', payload: {}, options: { priority: 1 } }] } });
    expect(expectError(batch, 400, 'VALIDATION_FAILED').details).toEqual([expect.objectContaining({ index: 1, field: 'tasks.1.options.priority' })]);
  });

  it('shows the role as fair, with its limits, in GET /v1/roles', async () => {
    const { roles } = (await api.request('GET', '/v1/roles')).body as { roles: { name: string; fair?: unknown }[] };
    expect(roles.find((role) => role.name === 'fair-limited')?.fair).toEqual({ tenantConcurrency: 2 });
    expect(roles.find((role) => role.name === 'plain-work')?.fair).toBeUndefined();
  });
});

/** The most runs of one tenant (or of all, with `tenant` undefined) that overlapped at any moment. */
function maxAtOnce(all: readonly Run[], tenant?: string | null): number {
  const mine = tenant === undefined ? all : all.filter((run) => run.tenant === tenant);
  const edges = mine.flatMap((run) => [{ at: run.start, step: 1 }, { at: run.end, step: -1 }]).sort((a, b) => a.at - b.at || a.step - b.step);
  let now = 0;
  let most = 0;
  for (const edge of edges) most = Math.max(most, (now += edge.step));
  return most;
}

describe('fair roles: limits per tenant', () => {
  it('runs at most tenantConcurrency tasks of one tenant at once (tasks without a tenant count as one), the others alongside', async () => {
    await Promise.all([
      submitAs(acme, 'fair-limited', 12, { workMs: 150 }),
      submitAs(globex, 'fair-limited', 12, { workMs: 150 }),
      submitAs(ops, 'fair-limited', 6, { workMs: 150 }),
    ]);
    const done = await waitForRuns('fair-limited', 30);
    expect(maxAtOnce(done, 'acme')).toBe(2);
    expect(maxAtOnce(done, 'globex')).toBe(2);
    expect(maxAtOnce(done, null)).toBe(2);
    expect(maxAtOnce(done)).toBeGreaterThan(2);
    // Every task ran once, with one attempt: a deferral spends none.
    expect(done).toHaveLength(30);
    expect(metricValue(await worker.metrics(), 'taskyard_tasks_processed_total', { role: 'fair-limited', outcome: 'deferred' })).toBeGreaterThan(0);
    const slots = await redis.zcard(`${env['QUEUE_PREFIX']}{fair-limited}:~fair-leases:fair-limited:"acme"`);
    expect(slots).toBe(0);
  });

  it('starts at most tenantRate.max tasks of one tenant per window; another tenant is not held by it', async () => {
    await submitAs(acme, 'fair-rated', 10);
    await submitAs(globex, 'fair-rated', 3);
    const done = await waitForRuns('fair-rated', 13);
    const acmeStarts = done.filter((run) => run.tenant === 'acme').map((run) => run.start).sort((a, b) => a - b);
    expect(acmeStarts[5]! - acmeStarts[0]!).toBeGreaterThanOrEqual(900);
    const globexStarts = done.filter((run) => run.tenant === 'globex').map((run) => run.start);
    expect(Math.max(...globexStarts)).toBeLessThan(acmeStarts[5]!);
  });
});
