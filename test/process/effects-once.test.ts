import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REINJECTION_AFTER_MS } from '../../apps/workers/src/effects-ledger';
import { ApiServer } from '../support/api-server';
import { roleQueue } from '../support/role-queue';
import { deletePrefix, testEnv, testRedis } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { FAST_RECOVERY, isStallLine, metricValue, waitForState } from './helpers';

const ROLE_MODULES = resolve(__dirname, '../fixtures/roles/effects.cjs');
const env = testEnv({ ...FAST_RECOVERY, ROLES: 'effects', ROLE_MODULES });
const prefix = env['QUEUE_PREFIX']!;
const api = new ApiServer(env);
const redis = testRedis();
const running: WorkerProcess[] = [];

beforeAll(async () => {
  await api.start();
});

afterAll(async () => {
  await Promise.all([api.stop(), ...running.map((worker) => worker.stop())]);
  redis.disconnect();
  await deletePrefix(env['REDIS_URL']!, prefix);
});

/** Two fresh replicas per scenario (the previous ones stopped), so metrics and logs tell that scenario only. */
async function twoReplicas(): Promise<[WorkerProcess, WorkerProcess]> {
  await Promise.all(running.splice(0).map((worker) => worker.stop()));
  const pair = [new WorkerProcess(env), new WorkerProcess(env)] as const;
  running.push(...pair);
  await Promise.all(pair.map((worker) => worker.start()));
  return [pair[0], pair[1]];
}

/** The trail the effects fixture leaves for task `id`. */
async function trail(id: string) {
  const base = `${prefix}:fx:${id}`;
  const [count, by, started, returned] = await Promise.all([
    redis.get(`${base}:count`),
    redis.lrange(`${base}:by`, 0, -1),
    redis.lrange(`${base}:started`, 0, -1),
    redis.lrange(`${base}:returned`, 0, -1),
  ]);
  return { effects: Number(count ?? 0), by: by.map(Number), started: started.map(Number), returned: returned.map(Number) };
}

/** Waits until a handler reports itself paused at `point` and returns the replica that holds it. */
async function pausedHolder(id: string, point: 'before' | 'after', replicas: WorkerProcess[]): Promise<WorkerProcess> {
  const pid = await waitFor(`task ${id} to pause ${point} its effect`, () => redis.get(`${prefix}:fx:${id}:at-${point}`));
  const holder = replicas.find((replica) => replica.pid === Number(pid));
  if (!holder) throw new Error(`no replica has pid ${pid}`);
  return holder;
}

async function stallsCounted(replicas: WorkerProcess[]): Promise<number> {
  let total = 0;
  for (const replica of replicas) total += metricValue(await replica.metrics(), 'taskyard_tasks_stalled_total', { role: 'effects' }) ?? 0;
  return total;
}

describe('fault test 1: a replica SIGKILLed in the middle of a task with a side effect', () => {
  it('killed before its effect: the survivor completes the task and performs the effect, once', async () => {
    const replicas = await twoReplicas();
    const id = await api.submit('effects', { pauseBefore: true });
    const victim = await pausedHolder(id, 'before', replicas);
    const survivor = replicas.find((replica) => replica !== victim)!;

    victim.signal('SIGKILL');
    await victim.exit();
    await redis.set(`${prefix}:fx:${id}:go-before`, '1');

    const task = await waitForState(api, id, 'completed', 40_000);
    const { effects, by, started } = await trail(id);
    expect(effects).toBe(1);
    expect(by).toEqual([survivor.pid]);
    expect(started).toEqual([victim.pid, survivor.pid]);
    expect(task.result).toEqual({ effect: { pid: survivor.pid, attempt: 1 }, finishedBy: survivor.pid });
    expect(task.history.filter((entry: { state: string }) => entry.state === 'completed')).toHaveLength(1);
    expect(survivor.logs.filter(isStallLine)).toEqual([expect.objectContaining({ level: 'warn', taskId: id })]);
    expect(await stallsCounted([survivor])).toBe(1);
  });

  it('killed after its effect, before completing: the survivor reruns the handler but gets the stored effect', async () => {
    const replicas = await twoReplicas();
    const id = await api.submit('effects', { pauseAfter: true });
    const victim = await pausedHolder(id, 'after', replicas);
    const survivor = replicas.find((replica) => replica !== victim)!;
    expect((await trail(id)).effects).toBe(1);

    victim.signal('SIGKILL');
    await victim.exit();
    await redis.set(`${prefix}:fx:${id}:go-after`, '1');

    const task = await waitForState(api, id, 'completed', 40_000);
    const { effects, by, started } = await trail(id);
    expect(effects).toBe(1);
    expect(by).toEqual([victim.pid]);
    expect(started).toEqual([victim.pid, survivor.pid]);
    // The survivor finished the task with the value the victim's effect stored.
    expect(task.result).toEqual({ effect: { pid: victim.pid, attempt: 1 }, finishedBy: survivor.pid });
    expect(survivor.logs.filter(isStallLine)).toEqual([expect.objectContaining({ level: 'warn', taskId: id })]);
    expect(await stallsCounted([survivor])).toBe(1);
  });
});

describe('fault test 3: a handler that blocks its event loop past the lock', () => {
  it('loses the task to the other replica, and the effect still happens once; the stall is logged and counted', async () => {
    const replicas = await twoReplicas();
    // 8 s of busy-waiting against a 2 s lock checked every second.
    const id = await api.submit('effects', { busyMs: 8000 });

    const task = await waitForState(api, id, 'completed', 40_000);
    const { started } = await trail(id);
    const [blockedPid, takerPid] = started;
    expect(started).toHaveLength(2);
    expect(takerPid).not.toBe(blockedPid);
    const taker = replicas.find((replica) => replica.pid === takerPid)!;
    // The blocked handler wakes up and reaches its ctx.once too: it gets the stored effect.
    await waitFor('the blocked handler to get past ctx.once', async () => (await trail(id)).returned.includes(blockedPid!), { timeoutMs: 30_000 });

    const { effects, by } = await trail(id);
    expect(effects).toBe(1);
    expect(by).toEqual([takerPid]);
    expect(task.result.effect).toEqual({ pid: takerPid, attempt: 1 });
    expect((await api.task(id)).state).toBe('completed');
    expect(taker.logs.filter(isStallLine)).toEqual([expect.objectContaining({ level: 'warn', taskId: id })]);
    expect(await stallsCounted(replicas)).toBe(1);
  });
});

describe('the ledger', () => {
  it('does not run a message again when the same signed message is re-injected after its job was removed', async () => {
    const replicas = await twoReplicas();
    const id = await api.submit('effects', {});
    const first = await waitForState(api, id, 'completed');
    expect(await trail(id)).toMatchObject({ effects: 1 });

    // Re-inject: remove the completed job and add the same data under the same job id (later than
    // REINJECTION_AFTER_MS after its creation, as a re-injection after removal is).
    await new Promise((done) => setTimeout(done, Math.max(0, Date.parse(first.createdAt) + REINJECTION_AFTER_MS + 1 - Date.now())));
    const queue = roleQueue(redis, prefix, 'effects');
    try {
      const job = await queue.getJob(id);
      expect(job).toBeDefined();
      const { data, opts } = job!;
      expect(await queue.remove(id)).toBe(1);
      await queue.add('effects', data, { ...opts, jobId: id });
    } finally {
      await queue.close();
    }

    const again = await waitForState(api, id, 'completed');
    expect(again.result).toEqual(first.result);
    // The handler did not run: one start, one effect.
    expect(await trail(id)).toMatchObject({ effects: 1, started: [first.result.finishedBy] });
    const metrics = await Promise.all(replicas.map((replica) => replica.metrics()));
    const skipped = metrics.reduce((sum, text) => sum + (metricValue(text, 'taskyard_duplicates_skipped_total', { role: 'effects' }) ?? 0), 0);
    expect(skipped).toBe(1);
    const skipLines = replicas.flatMap((replica) => replica.logs.filter((line) => line['taskId'] === id && String(line.msg).startsWith('duplicate delivery')));
    expect(skipLines).toHaveLength(1);
  });
});
