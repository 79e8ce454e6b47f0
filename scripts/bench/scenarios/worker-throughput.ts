import { join } from 'node:path';
import { commandDelta } from '../lib/bench-redis';
import { sleep } from '../lib/free-port';
import type { BenchProcess } from '../lib/launcher';
import { QueueProbe } from '../lib/queue-probe';
import type { RowName, Scenario } from '../lib/scenario';
import { alternate } from '../lib/scenario';
import { perTask } from './http-submit';

const CONCURRENCIES = [1, 10, 50] as const;
const PROFILED_CONCURRENCY = 50;

/**
 * 3. Pre-enqueued echo tasks (no sleep) drained by one worker process at concurrency 1, 10 and
 * 50: Taskyard's real worker (ROLES=echo, ROLE_ECHO_CONCURRENCY) against a raw BullMQ Worker with
 * a no-op processor. Tasks/s from the first job's start to the last one's completion, both read
 * from BullMQ's own timestamps. Also measures the Redis commands per processed task (scenario 5).
 */
export const workerThroughput: Scenario = {
  name: 'worker-throughput',
  title: '3. Worker throughput',
  rows: ['worker-c1', 'worker-c10', 'worker-c50'],
  async run(ctx) {
    const { sizes, redis } = ctx;
    const tasks = sizes.workerTasks;
    const rates: Record<number, { taskyard: number[]; raw: number[] }> = {};
    for (const concurrency of CONCURRENCIES) {
      ctx.log(` concurrency ${concurrency}, ${tasks} tasks`);
      rates[concurrency] = await alternate(ctx, sizes.pairs, async (side) => {
        await redis.reset();
        await side.enqueue(redis.client, tasks);
        const probe = new QueueProbe(redis.client, side);
        const before = await redis.commandStats();
        let worker: BenchProcess | undefined;
        try {
          const profiled = ctx.profileDir && concurrency === PROFILED_CONCURRENCY;
          worker = await side.startWorker({ concurrency, profileDir: profiled ? join(ctx.profileDir!, `worker-c${concurrency}-${side.name}`) : undefined });
          const deadline = Date.now() + 10 * 60_000;
          while ((await probe.completed()) < tasks) {
            if (Date.now() > deadline) throw new Error(`${side.name} c${concurrency}: not done after 10 min (${await probe.completed()} completed, ${await probe.failed()} failed)`);
            await sleep(100);
          }
          const delta = commandDelta(before, await redis.commandStats());
          delta.byCommand['zcard'] = (delta.byCommand['zcard'] ?? 0) - probe.commandsSent;
          const commands = delta.commands - probe.commandsSent;
          if (concurrency === PROFILED_CONCURRENCY) {
            ctx.shared.processCost[side.name].push({ commandsPerTask: commands / tasks, luaPerTask: delta.lua / tasks, byCommand: perTask(delta.byCommand, tasks) });
          }
          const window = await probe.processingWindow();
          const rate = window.count / ((window.lastFinish - window.firstStart) / 1000);
          ctx.log(`  ${side.name.padEnd(8)} ${rate.toFixed(0)} tasks/s, ${(commands / tasks).toFixed(2)} Redis commands/task (${(delta.lua / tasks).toFixed(2)} Lua)`);
          return rate;
        } finally {
          await worker?.stop();
        }
      });
    }
    const row = (concurrency: (typeof CONCURRENCIES)[number]) => ({
      name: `worker-c${concurrency}` as RowName,
      unit: 'tasks/s',
      taskyard: rates[concurrency]!.taskyard,
      raw: rates[concurrency]!.raw,
      target: concurrency === 50 ? ({ kind: 'ratio-min', value: 0.9 } as const) : ({ kind: 'none' } as const),
    });
    return { rows: CONCURRENCIES.map(row), details: { tasksPerSample: tasks } };
  },
};
