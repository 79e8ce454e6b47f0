import { sleep } from '../lib/free-port';
import { stopAll, type BenchProcess } from '../lib/launcher';
import { QueueProbe } from '../lib/queue-probe';
import type { BenchContext, Scenario } from '../lib/scenario';
import { alternate } from '../lib/scenario';
import { ECHO, ECHO_PAYLOAD, type ApiHandle, type Retention, type Side } from '../lib/sides';
import { growthPercent } from '../lib/stats';

const WORKERS = 2;
const BATCH = 500;
const IN_FLIGHT = 2;
/** Submitting pauses while more than this many tasks wait, so the soak measures flow, not a pile. */
const MAX_BACKLOG = 20_000;
const SAMPLE_EVERY_MS = 250;
/** Short retention, so finished tasks are removed within the run. */
const RETENTION: Retention = { ageSeconds: 1, count: 100, shortWindows: true };
/** The Redis figure is "back to baseline" within this tolerance. */
export const REDIS_TOLERANCE_PERCENT = 5;

interface Snapshot {
  rss: Record<string, number>;
  redis: number;
}

interface SoakSample {
  before: Snapshot;
  baseline: Snapshot;
  peak: Snapshot;
  after: Snapshot;
  rssGrowth: Record<string, number | null>;
  maxRssGrowth: number;
  redisGrowth: number;
  tasksPerSecond: number;
}

/**
 * 6. Memory soak: echo tasks through the API (batches) and 2 worker processes with a short
 * retention. RSS of each process and Redis used_memory before, after a warm-up (the baseline),
 * at the peak and after the last tasks were retired; growth is after vs the baseline.
 */
export const memorySoak: Scenario = {
  name: 'memory-soak',
  title: '6. Memory soak',
  rows: ['soak-rss-growth', 'soak-redis-memory'],
  async run(ctx) {
    const samples = await alternate(ctx, ctx.sizes.soakPairs, (side) => sample(ctx, side));
    const pick = (f: (s: SoakSample) => number) => ({ taskyard: samples.taskyard.map(f), raw: samples.raw.map(f) });
    return {
      rows: [
        { name: 'soak-rss-growth', unit: '%', ...pick((s) => s.maxRssGrowth), target: { kind: 'value-below', value: 10 } },
        { name: 'soak-redis-memory', unit: '%', ...pick((s) => s.redisGrowth), target: { kind: 'value-below', value: REDIS_TOLERANCE_PERCENT } },
      ],
      details: {
        tasks: ctx.sizes.soakTasks,
        warmupTasks: ctx.sizes.soakWarmupTasks,
        retention: RETENTION,
        note: 'rss-growth is the largest growth of any process (API, workers); growth is after retention vs after warm-up',
        samples,
      },
    };
  },
};

async function sample(ctx: BenchContext, side: Side): Promise<SoakSample> {
  const { redis, sizes } = ctx;
  await redis.reset();
  const processes: BenchProcess[] = [];
  try {
    const api = await side.startApi({ retention: RETENTION });
    processes.push(api.process);
    processes.push(...(await Promise.all(Array.from({ length: WORKERS }, () => side.startWorker({ retention: RETENTION })))));
    const probe = new QueueProbe(redis.client, side);
    const names = ['api', ...Array.from({ length: WORKERS }, (_, i) => `worker-${i + 1}`)];
    const snapshot = async (): Promise<Snapshot> => ({
      rss: Object.fromEntries(processes.map((process, i) => [names[i]!, process.rss()])),
      redis: await redis.usedMemory(),
    });

    const before = await snapshot();
    await submit(api, probe, sizes.soakWarmupTasks);
    await drain(probe);
    const baseline = await snapshot();

    const peak: Snapshot = { rss: { ...baseline.rss }, redis: baseline.redis };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = await snapshot();
        for (const [name, rss] of Object.entries(now.rss)) peak.rss[name] = Math.max(peak.rss[name] ?? 0, rss);
        peak.redis = Math.max(peak.redis, now.redis);
        await sleep(SAMPLE_EVERY_MS);
      }
    })();
    const started = performance.now();
    const main = sizes.soakTasks - sizes.soakWarmupTasks;
    try {
      await submit(api, probe, main);
      await drain(probe);
    } finally {
      sampling = false;
      await sampler;
    }
    const tasksPerSecond = main / ((performance.now() - started) / 1000);
    // Age-based retention runs when jobs finish; the count cap already holds. Give it a moment,
    // and Taskyard's ledger entries their TTL (the role's retry window, shortened for the soak).
    await sleep(Math.max(RETENTION.ageSeconds * 1000, side.keepsBeyondRetentionMs(RETENTION)) + 500);
    const after = await snapshot();

    const rssGrowth = Object.fromEntries(names.map((name) => [name, growthPercent(baseline.rss[name]!, after.rss[name]!)]));
    const growths = Object.values(rssGrowth).filter((value): value is number => value !== null);
    const result: SoakSample = {
      before,
      baseline,
      peak,
      after,
      rssGrowth,
      maxRssGrowth: growths.length === 0 ? Number.NaN : Math.max(...growths),
      redisGrowth: growthPercent(baseline.redis, after.redis) ?? Number.NaN,
      tasksPerSecond,
    };
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
    ctx.log(
      `  ${side.name.padEnd(8)} ${tasksPerSecond.toFixed(0)} tasks/s; RSS ${names.map((name) => `${name} ${mb(baseline.rss[name]!)}→${mb(after.rss[name]!)} (peak ${mb(peak.rss[name]!)})`).join(', ')}; ` +
        `Redis ${mb(before.redis)} empty, ${mb(baseline.redis)}→${mb(after.redis)} (peak ${mb(peak.redis)})`,
    );
    return result;
  } finally {
    await stopAll(processes);
  }
}

/** Sends `count` echo tasks through the API in batches, never letting the backlog pass MAX_BACKLOG. */
async function submit(api: ApiHandle, probe: QueueProbe, count: number): Promise<void> {
  const body = JSON.stringify({ tasks: Array.from({ length: BATCH }, () => ({ role: ECHO, payload: ECHO_PAYLOAD })) });
  let batches = Math.ceil(count / BATCH);
  const client = async () => {
    while (batches > 0) {
      batches--;
      while ((await probe.waiting()) > MAX_BACKLOG) await sleep(50);
      const response = await fetch(api.batchUrl, { method: 'POST', headers: api.headers, body });
      const text = await response.text();
      if (response.status !== 202) throw new Error(`soak batch: HTTP ${response.status} ${text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, client));
}

/** Waits until no task is waiting, active or delayed. */
async function drain(probe: QueueProbe): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  while ((await probe.unfinished()) > 0) {
    if (Date.now() > deadline) throw new Error('tasks still unfinished after 10 min');
    await sleep(100);
  }
  const failed = await probe.failed();
  if (failed > 0) throw new Error(`${failed} tasks failed`);
}
