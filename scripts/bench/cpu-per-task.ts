/**
 * `npx tsx scripts/bench/cpu-per-task.ts [--api [--batch=N]] [--tasks=N] [--seconds=N] [--pairs=N] [--concurrency=N] [--profile-dir=DIR] [--variant=NAME:ROOT[:ENV=V,ENV=V]]…`
 *
 * CPU time per task of one worker process (user + system, read from /proc/<pid>/stat after
 * start-up and again when the last task completed), for raw BullMQ and for one or more Taskyard
 * builds (checkouts, or this one with extra environment), run in turns on one private Redis.
 * With --api: CPU time per `POST` of the API process under scenario 1's load (50 connections,
 * `--seconds` after a 2 s warm-up); with --batch=N, `POST /tasks/batch` of N tasks, 4 in flight
 * (scenario 2), per task. --profile-dir=DIR: run each process under --cpu-prof, writing
 * into DIR/<variant>-<pair> (summarise with profile-summary.ts).
 * The variants' order rotates from pair to pair. Steadier than tasks/s on a shared machine, so it is how a hot-path change is judged before a
 * full `npm run bench`. Prints medians; writes nothing.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from '../lib/build';
import { BenchRedis } from './lib/bench-redis';
import { sleep } from './lib/free-port';
import { postLoad } from './lib/http-load';
import { QueueProbe } from './lib/queue-probe';
import { ECHO, ECHO_PAYLOAD, RawSide, TaskyardSide, type Retention, type Side } from './lib/sides';
import { median } from './lib/stats';

const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux

function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm) ".
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

class VariantSide extends TaskyardSide {
  constructor(
    redisUrl: string,
    root: string,
    private readonly extraEnv: Record<string, string>,
  ) {
    super(redisUrl, root);
  }

  override env(retention?: Retention, extra: Record<string, string> = {}): Record<string, string> {
    return super.env(retention, { ...this.extraEnv, ...extra });
  }
}

async function main(): Promise<void> {
  const args = Object.fromEntries(process.argv.slice(2).filter((a) => !a.startsWith('--variant=')).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
  const tasks = Number(args['tasks'] ?? 20_000);
  const pairs = Number(args['pairs'] ?? 4);
  const concurrency = Number(args['concurrency'] ?? 50);
  const redis = await new BenchRedis().start();
  try {
    const variants: { name: string; side: Side }[] = [];
    const specs = process.argv.slice(2).filter((a) => a.startsWith('--variant=')).map((a) => a.slice('--variant='.length));
    for (const spec of specs.length ? specs : ['this:.']) {
      const [name, root, envList] = spec.split(':') as [string, string, string | undefined];
      const env = Object.fromEntries((envList ? envList.split(',') : []).map((pair) => pair.split('=') as [string, string]));
      variants.push({ name, side: new VariantSide(redis.url, resolve(ROOT, root), env) });
    }
    variants.unshift({ name: 'raw', side: new RawSide(redis.url, variants[0]!.side as TaskyardSide) });
    const results = new Map<string, { cpu: number[]; rate: number[] }>(variants.map((v) => [v.name, { cpu: [], rate: [] }]));
    const api = 'api' in args;
    const seconds = Number(args['seconds'] ?? 5);
    const batch = Number(args['batch'] ?? 0);
    const unit = api && !batch ? 'request' : 'task';
    const profileDir = args['profile-dir'] ? resolve(args['profile-dir']) : undefined;
    for (let pair = 0; pair < pairs; pair++) {
      // The order rotates each pair: with a fixed order, two builds' medians swapped places when
      // their order was swapped (by ~5-10 %), whichever ran later in the pair came out ahead.
      const order = variants.map((_, at) => variants[(at + pair) % variants.length]!);
      for (const { name, side } of order) {
        await redis.reset();
        if (api) {
          const handle = await side.startApi({ profileDir: profileDir && join(profileDir, `${name}-${pair + 1}`) });
          try {
            const task = { role: ECHO, payload: ECHO_PAYLOAD };
            const load = batch
              ? { url: handle.batchUrl, headers: handle.headers, body: JSON.stringify({ tasks: Array.from({ length: batch }, () => task) }), connections: 4 }
              : { url: handle.submitUrl, headers: handle.headers, body: JSON.stringify(task), connections: 50 };
            await postLoad({ ...load, durationSeconds: 2 });
            const startCpu = cpuMicros(handle.process.pid);
            const result = await postLoad({ ...load, durationSeconds: seconds });
            const cpu = (cpuMicros(handle.process.pid) - startCpu) / ((result.ok + result.non2xx) * (batch || 1));
            results.get(name)!.cpu.push(cpu);
            results.get(name)!.rate.push(result.requestsPerSecond);
            process.stdout.write(`pair ${pair + 1} ${name.padEnd(12)} ${cpu.toFixed(1)} µs CPU/${unit}, ${result.requestsPerSecond.toFixed(0)} req/s, non-2xx ${result.non2xx}\n`);
          } finally {
            await handle.process.stop();
          }
          continue;
        }
        await side.enqueue(redis.client, tasks);
        const probe = new QueueProbe(redis.client, side);
        const worker = await side.startWorker({ concurrency, profileDir: profileDir && join(profileDir, `${name}-${pair + 1}`) });
        try {
          await sleep(200);
          const startCpu = cpuMicros(worker.pid);
          while ((await probe.completed()) < tasks) await sleep(20);
          const cpu = (cpuMicros(worker.pid) - startCpu) / tasks;
          const window = await probe.processingWindow();
          const rate = window.count / ((window.lastFinish - window.firstStart) / 1000);
          results.get(name)!.cpu.push(cpu);
          results.get(name)!.rate.push(rate);
          process.stdout.write(`pair ${pair + 1} ${name.padEnd(12)} ${cpu.toFixed(1)} µs CPU/task, ${rate.toFixed(0)} tasks/s\n`);
        } finally {
          await worker.stop();
        }
      }
    }
    process.stdout.write(api ? `\nmedians over ${pairs} pairs, ${seconds} s of load:\n` : `\nmedians over ${pairs} pairs, ${tasks} tasks at c=${concurrency}:\n`);
    for (const [name, { cpu, rate }] of results) {
      process.stdout.write(`${name.padEnd(12)} ${median(cpu).toFixed(1)} µs CPU/${unit}, ${median(rate).toFixed(0)} ${api ? 'req' : 'tasks'}/s\n`);
    }
  } finally {
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
