import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { RedisServer } from '../support/redis-server';
import { testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { FAST_RECOVERY, metricValue } from './helpers';

const ROLES = ['soak.alpha', 'soak.beta', 'soak.gamma', 'soak.delta'];
const TASKS = 20_000;
const BATCH = 1000;

/**
 * Fault test 10: 20 000 tasks over four roles on two worker replicas, one attempt in five failing
 * transiently. Every task must end completed or dead-lettered (none lost), no message may run its
 * handler to success twice, and Redis must give back its memory once retention has done its work.
 */
describe('soak: 20 000 tasks, 4 roles, 2 replicas, 20 % transient failures', () => {
  const redisServer = new RedisServer({ appendfsync: 'off' });
  let env: Record<string, string>;
  let api: ApiServer;
  let workers: WorkerProcess[];
  let redis: Redis;

  beforeAll(async () => {
    await redisServer.start();
    env = testEnv({
      REDIS_URL: redisServer.url,
      ROLE_MODULES: resolve(__dirname, '../fixtures/roles/soak.cjs'),
      SOAK_FAIL_RATE: '0.2',
      // Short retention so the run can watch Redis give its memory back.
      TASK_RETENTION_SECONDS: '1',
      TASK_RETENTION_COUNT: '100',
      // BullMQ's event streams are capped, not retained: a short cap fills during the warm-up.
      QUEUE_EVENTS_MAX_LEN: '500',
      DEAD_LETTER_TTL: '1h',
      ...FAST_RECOVERY,
    });
    redis = new Redis(redisServer.url);
    api = await new ApiServer(env).start();
    workers = await Promise.all([new WorkerProcess(env).start(), new WorkerProcess(env).start()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), ...(workers ?? []).map((worker) => worker.stop())]);
    redis?.disconnect();
    await redisServer.destroy();
  });

  async function submit(count: number, offset: number): Promise<Map<string, string>> {
    const roleOf = new Map<string, string>();
    for (let start = 0; start < count; start += BATCH) {
      const tasks = Array.from({ length: Math.min(BATCH, count - start) }, (_, index) => ({
        role: ROLES[(offset + start + index) % ROLES.length]!,
        payload: { n: offset + start + index },
      }));
      const response = await api.request('POST', '/v1/tasks/batch', { body: { tasks } });
      expect(response.status, response.text).toBe(202);
      for (const task of response.body.tasks as { id: string; role: string }[]) roleOf.set(task.id, task.role);
    }
    return roleOf;
  }

  async function deadLetterIds(): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await api.request('GET', `/v1/dead-letters?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(response.status, response.text).toBe(200);
      ids.push(...(response.body.items as { id: string }[]).map((item) => item.id));
      cursor = response.body.nextCursor as string | null;
    } while (cursor);
    return ids;
  }

  async function settled(expected: number): Promise<{ runs: Record<string, string>; dead: string[] }> {
    let last = { runs: {} as Record<string, string>, dead: [] as string[] };
    await waitFor(
      `${expected} tasks completed or dead-lettered`,
      async () => {
        const [runs, dead] = await Promise.all([redis.hgetall(`${env['QUEUE_PREFIX']}:soak:runs`), deadLetterIds()]);
        last = { runs, dead };
        return Object.keys(runs).length + dead.length >= expected;
      },
      { timeoutMs: 150_000, intervalMs: 1000 },
    );
    return last;
  }

  async function usedMemory(): Promise<number> {
    const info = await redis.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)![1]);
  }

  /** Bytes per key group (the key with ids and numbers folded), largest first: what a failure names. */
  async function memoryByKeyGroup(): Promise<string> {
    const groups = new Map<string, number>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const group = key.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/:\d+/g, ':<n>');
        groups.set(group, (groups.get(group) ?? 0) + ((await redis.memory('USAGE', key)) ?? 0));
      }
    } while (cursor !== '0');
    return [...groups].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([group, bytes]) => `${group} ${(bytes / 1e6).toFixed(2)} MB`).join(', ');
  }

  async function rss(worker: WorkerProcess): Promise<number> {
    return metricValue(await worker.metrics(), 'taskyard_worker_process_resident_memory_bytes') ?? Number.NaN;
  }

  it('every task ends completed or dead-lettered, none runs twice, and Redis memory returns to its baseline', async () => {
    // Warm-up: every role's queue, retention window and worker code paths exist before the baseline.
    const warm = await submit(2000, 0);
    const warmSettled = await settled(warm.size);
    await Promise.all(warmSettled.dead.map((id) => api.request('DELETE', `/v1/dead-letters/${id}`)));
    await redis.del(`${env['QUEUE_PREFIX']}:soak:runs`);
    await new Promise((done) => setTimeout(done, 3000));
    const baselineMemory = await usedMemory();
    const baselineRss = await Promise.all(workers.map(rss));

    const submitted = await submit(TASKS, 2000);
    expect(submitted.size).toBe(TASKS);
    const { runs, dead } = await settled(TASKS);

    // None lost: each task either completed (its handler succeeded) or is a dead letter, never both.
    const completed = new Set(Object.keys(runs));
    const deadSet = new Set(dead);
    expect([...deadSet].filter((id) => completed.has(id)), 'tasks both completed and dead-lettered').toEqual([]);
    expect([...submitted.keys()].filter((id) => !completed.has(id) && !deadSet.has(id)), 'tasks lost').toEqual([]);
    expect(completed.size + deadSet.size).toBe(TASKS);
    // None ran twice: a message's handler succeeded at most once.
    expect(Object.entries(runs).filter(([, count]) => count !== '1'), 'messages run more than once').toEqual([]);
    // One attempt in five fails and a task has three: about 0.8 % die (binomial, so loosely bounded).
    expect(deadSet.size).toBeGreaterThan(0);
    expect(deadSet.size).toBeLessThan(TASKS * 0.03);
    // Every role took part, and the workers counted the retries the failures caused.
    const retried = (await Promise.all(workers.map((worker) => worker.metrics()))).flatMap((text) =>
      ROLES.map((role) => metricValue(text, 'taskyard_tasks_processed_total', { role, outcome: 'retried' }) ?? 0),
    );
    expect(retried.reduce((sum, value) => sum + value, 0)).toBeGreaterThan(TASKS * 0.1);

    // Retention: once the dead letters are dealt with and the ledger's entries expire, Redis is
    // back where it was after the warm-up (within 10 % or 1 MB: allocator slack).
    await Promise.all(dead.map((id) => api.request('DELETE', `/v1/dead-letters/${id}`)));
    await redis.del(`${env['QUEUE_PREFIX']}:soak:runs`);
    const allowed = Math.max(baselineMemory * 1.1, baselineMemory + 1024 * 1024);
    let after = Number.NaN;
    await waitFor(
      'Redis memory back to its baseline',
      async () => {
        after = await usedMemory();
        return after <= allowed;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}: ${(baselineMemory / 1e6).toFixed(2)} → ${(after / 1e6).toFixed(2)} MB; largest key groups: ${await memoryByKeyGroup()}`);
    });
    const afterRss = await Promise.all(workers.map(rss));
    const growth = afterRss.map((value, index) => `${(((value - baselineRss[index]!) / baselineRss[index]!) * 100).toFixed(1)} %`);
    console.info(
      `soak: ${TASKS} tasks, ${deadSet.size} dead-lettered; Redis ${(baselineMemory / 1e6).toFixed(1)} → ${(after / 1e6).toFixed(1)} MB; ` +
        `worker RSS growth ${growth.join(', ')} (reported, not asserted: see npm run bench for the soak figures)`,
    );
  }, 300_000);
});
