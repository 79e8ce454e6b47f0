import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiProcess } from '../support/api-process';
import { roleQueue } from '../support/role-queue';
import { deletePrefix, testEnv, testRedis } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { FAST_RECOVERY } from './helpers';

/**
 * The guarantee schedulers are known to break (bullmq #3262, #3063, #2954: runs twice or stops
 * when instances restart): two API and two worker processes are restarted — SIGTERM and
 * SIGKILL, one by one and all at once — while a schedule runs every second, and then its
 * `every` changes. Every slot makes exactly one task; slots are missed only while no worker
 * process was up.
 */
const env = testEnv({ ROLE_MODULES: resolve(__dirname, '../fixtures/roles/schedules.cjs'), ROLES: 'tick', SHUTDOWN_TIMEOUT_MS: '5000', ...FAST_RECOVERY });
const prefix = env['QUEUE_PREFIX']!;
const redis = testRedis({ maxRetriesPerRequest: null });
const running = new Set<ApiProcess | WorkerProcess>();

afterAll(async () => {
  await Promise.all([...running].map((process) => process.stop()));
  redis.disconnect();
  await deletePrefix(env['REDIS_URL']!, prefix);
});

async function startApi(): Promise<ApiProcess> {
  const api = new ApiProcess(env);
  running.add(api);
  api.launch();
  await api.waitUntilListening();
  // Listening comes before its Redis (a cluster's client) is ready: wait as a load balancer's health check would.
  await waitFor('the API to be ready', async () => ((await api.client.request('GET', '/health/ready', { auth: false })).status === 200 ? true : undefined));
  return api;
}

async function startWorker(): Promise<WorkerProcess> {
  const worker = new WorkerProcess(env);
  running.add(worker);
  await worker.start();
  return worker;
}

/** SIGTERM (drains) or SIGKILL, and wait for the exit. */
async function end(process: ApiProcess | WorkerProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  process.signal(signal);
  await process.exit();
  running.delete(process);
}

interface Run {
  taskId: string;
  scheduledFor: string;
}

const runs = async (): Promise<Run[]> => (await redis.lrange(`${prefix}:sched:runs`, 0, -1)).map((raw) => JSON.parse(raw) as Run);

/** Waits until `more` runs beyond `after` (a count) were recorded. */
async function moreRuns(after: number, more: number): Promise<number> {
  return waitFor(`${more} more runs`, async () => {
    const count = (await runs()).length;
    return count >= after + more ? count : undefined;
  }, { timeoutMs: 30_000, intervalMs: 100 });
}

describe('a schedule through restarts of every process', () => {
  it('fires each slot exactly once, misses slots only while no worker was up, and takes a changed every without a duplicate', async () => {
    const apis = [await startApi(), await startApi()];
    const workers = [await startWorker(), await startWorker()];
    const created = await apis[0]!.client.request('POST', '/v1/schedules', { body: { id: 'beat', role: 'tick', payload: {}, every: 1000 } });
    expect(created.status, created.text).toBe(201);
    let count = await moreRuns(0, 3);

    // One by one: there is always a worker (and an API) up.
    await end(workers[0]!, 'SIGTERM');
    workers[0] = await startWorker();
    count = await moreRuns(count, 2);
    await end(workers[1]!, 'SIGKILL');
    workers[1] = await startWorker();
    count = await moreRuns(count, 2);
    await end(apis[0]!, 'SIGTERM');
    apis[0] = await startApi();
    await end(apis[1]!, 'SIGKILL');
    apis[1] = await startApi();
    count = await moreRuns(count, 2);

    // All at once: for a few seconds nothing runs.
    const downFrom = Date.now();
    await Promise.all([...workers, ...apis].map((process) => end(process, 'SIGKILL')));
    await delay(3000);
    // Up again once the first worker process takes jobs (its start-up, longer on a loaded machine, is down time too).
    workers[0] = await startWorker();
    const upFrom = Date.now();
    workers[1] = await startWorker();
    apis[0] = await startApi();
    apis[1] = await startApi();
    await moreRuns(count, 3);

    // A changed `every`, through the other API process.
    const changed = await apis[1]!.client.request('POST', '/v1/schedules', { body: { id: 'beat', role: 'tick', payload: {}, every: 2000 } });
    expect(changed.status, changed.text).toBe(200);
    // In force once answered: a slot due while the request was on its way was still the old every's.
    const changedAt = Date.now();
    // Three runs of the new every (a run of the old one taken just before the change may be recorded after it).
    await waitFor('three runs after the change', async () => (await runs()).filter((run) => Date.parse(run.scheduledFor) > changedAt).length >= 3, { timeoutMs: 30_000, intervalMs: 100 });
    expect((await apis[0]!.client.request('DELETE', '/v1/schedules/beat')).status).toBe(204);
    // Every task made has run (the last ones may still be queued or running).
    const queue = roleQueue(redis, prefix, 'tick');
    await waitFor('every scheduled task to finish', async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0) ? true : undefined;
    });
    await queue.close();

    const all = await runs();
    // One task per slot: a handler run again after a SIGKILL runs the same task, never a second one.
    const tasksBySlot = new Map<number, Set<string>>();
    for (const run of all) {
      const slot = Date.parse(run.scheduledFor);
      tasksBySlot.set(slot, (tasksBySlot.get(slot) ?? new Set()).add(run.taskId));
    }
    for (const [slot, tasks] of tasksBySlot) expect(tasks.size, `slot ${new Date(slot).toISOString()}`).toBe(1);
    const slots = [...tasksBySlot.keys()].sort((a, b) => a - b);

    // Before the change: a second apart, but for slots due while no worker process was up.
    const before = slots.filter((slot) => slot < changedAt - 1000);
    for (let at = 1; at < before.length; at++) {
      const gap = before[at]! - before[at - 1]!;
      expect(gap % 1000, `slots ${before[at - 1]} → ${before[at]}`).toBe(0);
      for (let missed = before[at - 1]! + 1000; missed < before[at]!; missed += 1000) {
        expect(missed >= downFrom - 1000 && missed <= upFrom, `slot ${new Date(missed).toISOString()} missed while a worker was up (none was from ${new Date(downFrom).toISOString()} to ${new Date(upFrom).toISOString()})`).toBe(true);
      }
    }
    expect(before.length).toBeGreaterThanOrEqual(10);
    // From the change on: two seconds apart, the first two seconds after the last run of the old
    // every (no extra run at the change), and no slot closer to another than the old second.
    const lastBefore = slots.filter((slot) => slot <= changedAt).at(-1)!;
    const after = slots.filter((slot) => slot > lastBefore);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(after[0]! - lastBefore).toBe(2000);
    for (let at = 1; at < after.length; at++) expect(after[at]! - after[at - 1]!).toBe(2000);
    for (let at = 1; at < slots.length; at++) {
      expect(slots[at]! - slots[at - 1]!, `slots ${slots.map((slot) => slot - changedAt).join(' ')} (ms from the change)`).toBeGreaterThanOrEqual(1000);
    }
  });
});
