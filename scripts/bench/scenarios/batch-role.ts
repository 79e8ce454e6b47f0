import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { ROOT } from '../../lib/build';
import { sleep } from '../lib/free-port';
import type { BenchProcess } from '../lib/launcher';
import { QueueProbe } from '../lib/queue-probe';
import type { Scenario } from '../lib/scenario';

const ROLE = 'bench-store';
const ROLE_MODULE = resolve(ROOT, 'scripts/bench/roles/bench-store.cjs');
/** Jobs in hand at once either way: batch size × concurrency. */
const IN_HAND = 50;
const SIZES = [1, 50] as const;

/**
 * 8. A storage-bound batch role (one Redis pipeline per handler call, scripts/bench/roles/
 * bench-store.cjs) drained by one Taskyard worker with batch size 50 (concurrency 1) against
 * batch size 1 (concurrency 50): 50 jobs in hand either way, so what differs is one write per
 * 50 messages or one per message. Both columns are Taskyard: `taskyard` is size 50, `raw` is
 * size 1 (raw BullMQ has no batches in its OSS worker). Tasks/s from the first job's start to
 * the last one's completion (BullMQ's timestamps).
 */
export const batchRole: Scenario = {
  name: 'batch-role',
  title: '8. Batch role: size 50 vs size 1',
  rows: ['batch-role-50-vs-1'],
  async run(ctx) {
    const { sizes, redis, taskyard } = ctx;
    const tasks = sizes.workerTasks;
    // The role as the worker will load it (its job options are the ones its tasks get).
    const role = (createRequire(ROLE_MODULE)(ROLE_MODULE) as { benchStoreRole: { name: string } }).benchStoreRole;
    const rates: Record<(typeof SIZES)[number], number[]> = { 1: [], 50: [] };
    for (let pair = 0; pair < sizes.pairs; pair++) {
      for (const size of SIZES) {
        await redis.reset();
        await taskyard.enqueueFor(redis.client, role, tasks, (n) => ({ n }));
        const probe = new QueueProbe(redis.client, { queuePrefix: taskyard.queuePrefixOf(ROLE) }, ROLE);
        let worker: BenchProcess | undefined;
        try {
          worker = await taskyard.startWorker({
            extraEnv: {
              ROLE_MODULES: ROLE_MODULE,
              ROLES: ROLE,
              ROLE_BENCH_STORE_BATCH_SIZE: String(size),
              ROLE_BENCH_STORE_CONCURRENCY: String(IN_HAND / size),
            },
          });
          const deadline = Date.now() + 10 * 60_000;
          while ((await probe.completed()) < tasks) {
            if (Date.now() > deadline) throw new Error(`batch size ${size}: not done after 10 min (${await probe.completed()} completed, ${await probe.failed()} failed)`);
            await sleep(100);
          }
          const window = await probe.processingWindow();
          const rate = window.count / ((window.lastFinish - window.firstStart) / 1000);
          ctx.log(`  batch size ${String(size).padEnd(2)} ${rate.toFixed(0)} tasks/s`);
          rates[size].push(rate);
        } finally {
          await worker?.stop();
        }
      }
    }
    return {
      rows: [{ name: 'batch-role-50-vs-1', unit: 'tasks/s', taskyard: rates[50], raw: rates[1], target: { kind: 'none' } }],
      details: { tasksPerSample: tasks, inHand: IN_HAND },
      notes: ['`batch-role-50-vs-1`: both columns are Taskyard\'s worker on a storage-bound batch role, `taskyard` at batch size 50 (concurrency 1), `raw` at batch size 1 (concurrency 50).'],
    };
  },
};
