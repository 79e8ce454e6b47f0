import { resolve } from 'node:path';
import { ROOT } from '../../lib/build';
import { sleep } from '../lib/free-port';
import type { BenchProcess } from '../lib/launcher';
import { QueueProbe } from '../lib/queue-probe';
import type { Scenario } from '../lib/scenario';
import type { ApiHandle } from '../lib/sides';
import { median, medianRatio } from '../lib/stats';

const ROLE_MODULE = resolve(ROOT, 'scripts/bench/roles/bench-fair.cjs');
const FAIR = 'bench-fair';
const PLAIN = 'bench-plain';
const TENANTS = 10;
/** The target: the fair role drains at least this share of the plain one's rate. */
const MIN_RATIO = 0.8;
/** Samples at least this large are the full run's, steady enough to fail the scenario on a missed target. */
const FULL_RUN_TASKS = 10_000;

/**
 * 9. The same no-op role with and without `fair` (scripts/bench/roles/bench-fair.cjs), each fed
 * through the API's batch endpoint by 10 tenants in turn (one batch of each tenant after another,
 * so the fair role's turns script runs on every batch), then drained by one Taskyard worker at
 * concurrency 50. Both columns are Taskyard: `taskyard` is the fair role, `raw` the plain one.
 * Tasks/s from the first job's start to the last one's completion (BullMQ's timestamps); the
 * submit rate of the batches is a secondary figure. The full run fails when the fair role
 * drains at less than 80 % of the plain one's rate.
 */
export const fairRole: Scenario = {
  name: 'fair-role',
  title: '9. Fair role: with turns vs without',
  rows: ['fair-vs-plain'],
  async run(ctx) {
    const { sizes, redis, taskyard } = ctx;
    const tasks = sizes.workerTasks;
    const perBatch = Math.max(1, Math.min(1000, Math.floor(tasks / TENANTS)));
    const drained: Record<string, number[]> = { [FAIR]: [], [PLAIN]: [] };
    const submitted: Record<string, number[]> = { [FAIR]: [], [PLAIN]: [] };
    for (let pair = 0; pair < sizes.pairs; pair++) {
      for (const role of [FAIR, PLAIN]) {
        await redis.reset();
        let api: ApiHandle | undefined;
        let worker: BenchProcess | undefined;
        try {
          api = await taskyard.startApi({ extraEnv: { ROLE_MODULES: ROLE_MODULE, RATE_LIMIT_PER_MINUTE: '1000000' } });
          const submitStarted = performance.now();
          for (let done = 0, batch = 0; done < tasks; done += perBatch, batch++) {
            const tenant = `tenant-${batch % TENANTS}`;
            const body = { tasks: Array.from({ length: Math.min(perBatch, tasks - done) }, (_, at) => ({ role, payload: { n: done + at }, metadata: { tenant } })) };
            const response = await fetch(api.batchUrl, { method: 'POST', headers: api.headers, body: JSON.stringify(body) });
            if (response.status !== 202) throw new Error(`${role}: batch answered ${response.status} ${await response.text()}`);
          }
          submitted[role]!.push(tasks / ((performance.now() - submitStarted) / 1000));
          await api.process.stop();
          api = undefined;

          const probe = new QueueProbe(redis.client, { queuePrefix: taskyard.queuePrefixOf(role) }, role);
          worker = await taskyard.startWorker({ extraEnv: { ROLE_MODULES: ROLE_MODULE, ROLES: role } });
          const deadline = Date.now() + 10 * 60_000;
          while ((await probe.completed()) < tasks) {
            if (Date.now() > deadline) throw new Error(`${role}: not done after 10 min (${await probe.completed()} completed, ${await probe.failed()} failed)`);
            await sleep(100);
          }
          const window = await probe.processingWindow();
          const rate = window.count / ((window.lastFinish - window.firstStart) / 1000);
          drained[role]!.push(rate);
          ctx.log(`  ${role.padEnd(11)} ${rate.toFixed(0)} tasks/s drained, ${submitted[role]!.at(-1)!.toFixed(0)} tasks/s submitted`);
        } finally {
          await api?.process.stop();
          await worker?.stop();
        }
      }
    }
    const ratio = medianRatio(drained[FAIR]!, drained[PLAIN]!);
    const submitRatio = medianRatio(submitted[FAIR]!, submitted[PLAIN]!);
    ctx.log(`  fair / plain: ${ratio?.toFixed(2) ?? '—'} drained, ${submitRatio?.toFixed(2) ?? '—'} submitted`);
    if (tasks >= FULL_RUN_TASKS && ratio !== null && ratio < MIN_RATIO) {
      throw new Error(`the fair role drained at ${ratio.toFixed(2)} × the plain one's rate, below ${MIN_RATIO}`);
    }
    return {
      rows: [{ name: 'fair-vs-plain', unit: 'tasks/s', taskyard: drained[FAIR]!, raw: drained[PLAIN]!, target: { kind: 'ratio-min', value: MIN_RATIO } }],
      details: { tasksPerSample: tasks, tenants: TENANTS, perBatch, submitted, submitMedians: { fair: median(submitted[FAIR]!), plain: median(submitted[PLAIN]!) }, submitRatio },
      notes: [
        `\`fair-vs-plain\`: both columns are Taskyard's worker (concurrency 50) on a no-op role fed by ${TENANTS} tenants, \`taskyard\` with \`fair\`, \`raw\` without; ` +
          `batch submit ${median(submitted[FAIR]!).toFixed(0)} vs ${median(submitted[PLAIN]!).toFixed(0)} tasks/s (the turns script: one more round trip per batch).`,
      ],
    };
  },
};
