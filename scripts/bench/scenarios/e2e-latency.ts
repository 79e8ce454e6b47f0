import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sleep } from '../lib/free-port';
import { JsonPoster } from '../lib/http-load';
import { stopAll, type BenchProcess } from '../lib/launcher';
import { QueueProbe } from '../lib/queue-probe';
import type { BenchContext, Scenario } from '../lib/scenario';
import { alternate } from '../lib/scenario';
import { ECHO, ECHO_PAYLOAD, type Side } from '../lib/sides';
import { percentile } from '../lib/stats';

const WORKERS = 2;
const TICK_MS = 5;

interface LatencySample {
  p50: number;
  p95: number;
  p99: number;
  submitted: number;
  failedSubmits: number;
  achievedRate: number;
  /** p50/p99 of each stage, from BullMQ's own job timestamps (whole ms): where the time goes. */
  stages: Record<Stage, { p50: number; p99: number }>;
}

/** submit → job created in Redis (`timestamp`) → taken by a worker (`processedOn`) → `finishedOn`. */
type Stage = 'submitToEnqueued' | 'enqueuedToStarted' | 'startedToFinished';

/** Submits one task and resolves with its id (undefined when refused). */
type Submit = () => Promise<string | undefined>;

/**
 * 4. Submit → completed latency at a fixed rate (open loop: requests go out on schedule
 * whatever the answers do): Taskyard's HTTP API with 2 worker processes, against raw BullMQ
 * `queue.add` from the load generator with 2 raw worker processes. The completion time is the
 * job's own `finishedOn`.
 */
export const e2eLatency: Scenario = {
  name: 'e2e-latency',
  title: '4. End-to-end latency',
  rows: ['e2e-p50', 'e2e-p99'],
  async run(ctx) {
    const { sizes } = ctx;
    const samples = await alternate(ctx, sizes.pairs, (side) => sample(ctx, side));
    const pick = <T>(f: (s: LatencySample) => T) => ({ taskyard: samples.taskyard.map(f), raw: samples.raw.map(f) });
    const p50 = pick((s) => s.p50);
    const p99 = pick((s) => s.p99);
    return {
      rows: [
        { name: 'e2e-p50', unit: 'ms', ...p50, target: { kind: 'diff-max', value: 2 } },
        { name: 'e2e-p99', unit: 'ms', ...p99, target: { kind: 'ratio-max', value: 2 } },
      ],
      details: {
        rate: sizes.e2eRate,
        seconds: sizes.e2eSeconds,
        workers: WORKERS,
        p95Ms: pick((s) => s.p95),
        achievedRate: pick((s) => s.achievedRate),
        failedSubmits: pick((s) => s.failedSubmits),
        stagesMs: pick((s) => s.stages),
      },
    };
  },
};

async function sample(ctx: BenchContext, side: Side): Promise<LatencySample> {
  const { redis, sizes } = ctx;
  await redis.reset();
  const processes: BenchProcess[] = [];
  let queue: Queue | undefined;
  let producerConnection: Redis | undefined;
  let client: JsonPoster | undefined;
  try {
    let submit: Submit;
    if (side.name === 'taskyard') {
      const api = await side.startApi();
      processes.push(api.process);
      const body = JSON.stringify({ role: ECHO, payload: ECHO_PAYLOAD });
      const poster = (client = new JsonPoster());
      submit = async () => {
        const response = await poster.post(api.submitUrl, api.headers, body);
        return response.status === 202 ? (JSON.parse(response.body) as { id?: string }).id : undefined;
      };
    } else {
      producerConnection = redis.client.duplicate();
      queue = new Queue(ECHO, { connection: producerConnection, prefix: side.queuePrefix });
      const producer = queue;
      const opts = side.jobOptions();
      submit = async () => (await producer.add(ECHO, ECHO_PAYLOAD, opts)).id;
    }
    processes.push(...(await Promise.all(Array.from({ length: WORKERS }, () => side.startWorker({})))));

    const probe = new QueueProbe(redis.client, side);
    // The warm-up's tasks are left out of the figures but must finish too.
    const warmup = await drive(submit, sizes.e2eRate, sizes.e2eWarmupSeconds);
    const measured = await drive(submit, sizes.e2eRate, sizes.e2eSeconds);
    const expected = warmup.ids.length + measured.ids.length;
    const deadline = Date.now() + 120_000;
    while ((await probe.completed()) < expected) {
      if (Date.now() > deadline) throw new Error(`${side.name}: tasks still unfinished 2 min after the load stopped`);
      await sleep(100);
    }
    const finished = await probe.field(measured.ids, 'finishedOn');
    const enqueued = await probe.field(measured.ids, 'timestamp');
    const started = await probe.field(measured.ids, 'processedOn');
    // finishedOn is Date.now() in the worker, truncated to the millisecond: +0.5 ms is its expected value.
    const latencies = finished.map((at, i) => at + 0.5 - measured.submittedAt[i]!).filter((latency) => Number.isFinite(latency));
    if (latencies.length === 0) throw new Error(`${side.name}: no task completed`);
    const result: LatencySample = {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      submitted: measured.ids.length,
      failedSubmits: measured.failed,
      achievedRate: measured.ids.length / sizes.e2eSeconds,
      stages: {
        submitToEnqueued: stage(enqueued.map((at, i) => at + 0.5 - measured.submittedAt[i]!)),
        enqueuedToStarted: stage(started.map((at, i) => at - enqueued[i]!)),
        startedToFinished: stage(finished.map((at, i) => at - started[i]!)),
      },
    };
    const { submitToEnqueued: a, enqueuedToStarted: b, startedToFinished: c } = result.stages;
    ctx.log(`  ${side.name.padEnd(8)} p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms (${result.achievedRate.toFixed(0)}/s, ${result.failedSubmits} refused)`);
    ctx.log(`           stages p50/p99 ms: submit→enqueued ${a.p50.toFixed(1)}/${a.p99.toFixed(1)}, →started ${b.p50.toFixed(1)}/${b.p99.toFixed(1)}, →finished ${c.p50.toFixed(1)}/${c.p99.toFixed(1)}`);
    return result;
  } finally {
    await stopAll(processes);
    await queue?.close();
    producerConnection?.disconnect();
    client?.close();
  }
}

function stage(durations: number[]): { p50: number; p99: number } {
  const known = durations.filter((duration) => Number.isFinite(duration));
  return { p50: percentile(known, 50), p99: percentile(known, 99) };
}

/**
 * Sends `rate` tasks per second for `seconds`, on a fixed schedule (a late tick sends what is
 * due, so the rate holds), and waits for every answer. The submit time is taken just before
 * each request.
 */
async function drive(submit: Submit, rate: number, seconds: number): Promise<{ ids: string[]; submittedAt: number[]; failed: number }> {
  const total = Math.round(rate * seconds);
  const ids: string[] = [];
  const submittedAt: number[] = [];
  const pending: Promise<void>[] = [];
  let failed = 0;
  let sent = 0;
  const started = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; sent < due; sent++) {
      const at = performance.timeOrigin + performance.now();
      pending.push(
        submit().then(
          (id) => {
            if (id === undefined) failed++;
            else {
              ids.push(id);
              submittedAt.push(at);
            }
          },
          () => {
            failed++;
          },
        ),
      );
    }
    await sleep(TICK_MS);
  }
  await Promise.all(pending);
  return { ids, submittedAt, failed };
}
