/**
 * `npm run bench -- [--quick] [--check] [--only=a,b] [--pairs=N] [--worker-tasks=N] [--profile] [--taskyard-root=DIR]`
 *
 * Runs Taskyard and its raw-BullMQ equivalent side by side, alternately (A B A B …), on a
 * private redis-server without persistence, and writes bench/results/<timestamp>.json and .md.
 * --quick: smaller counts and durations (under 2 minutes). --check: exit non-zero when a
 * scenario failed or gave no figures (never for a missed target). --profile: also write
 * --cpu-prof profiles of the API (scenario 1) and the worker (scenario 3, c=50) under
 * bench/profiles/<timestamp>/ (summarise them with scripts/bench/profile-summary.ts); the
 * figures of a profiled run go there too, not into bench/results. --taskyard-root: measure the
 * build of another checkout (e.g. a patched copy) against the same raw BullMQ.
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { ROOT } from '../lib/build';
import { BenchRedis } from './lib/bench-redis';
import { ensureBuilt } from './lib/build-check';
import { buildResults, missingFigures, toMarkdown, writeResults, type ScenarioOutcome } from './lib/report';
import type { BenchContext, Scenario, ScenarioSizes } from './lib/scenario';
import { RawSide, TaskyardSide } from './lib/sides';
import { batchRole } from './scenarios/batch-role';
import { batchSubmit } from './scenarios/batch-submit';
import { e2eLatency } from './scenarios/e2e-latency';
import { fairRole } from './scenarios/fair-role';
import { httpSubmit } from './scenarios/http-submit';
import { memorySoak } from './scenarios/memory-soak';
import { redisCost } from './scenarios/redis-cost';
import { taskRead } from './scenarios/task-read';
import { workerThroughput } from './scenarios/worker-throughput';

/** In order: redis-cost reads what http-submit and worker-throughput measured. */
const SCENARIOS: readonly Scenario[] = [httpSubmit, batchSubmit, workerThroughput, e2eLatency, redisCost, memorySoak, taskRead, batchRole, fairRole];

const FULL: ScenarioSizes = {
  pairs: 3,
  httpSeconds: 10,
  httpWarmupSeconds: 3,
  batchTasks: 20_000,
  workerTasks: 20_000,
  e2eRate: 500,
  e2eSeconds: 10,
  e2eWarmupSeconds: 2,
  soakTasks: 200_000,
  soakWarmupTasks: 20_000,
  soakPairs: 3,
};

const QUICK: ScenarioSizes = {
  pairs: 3,
  httpSeconds: 3,
  httpWarmupSeconds: 1,
  batchTasks: 3_000,
  workerTasks: 2_000,
  e2eRate: 500,
  e2eSeconds: 3,
  e2eWarmupSeconds: 0.5,
  soakTasks: 6_000,
  soakWarmupTasks: 2_000,
  soakPairs: 3,
};

interface Args {
  quick: boolean;
  check: boolean;
  profile: boolean;
  only: string[] | undefined;
  pairs: number | undefined;
  workerTasks: number | undefined;
  taskyardRoot: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, check: false, profile: false, only: undefined, pairs: undefined, workerTasks: undefined, taskyardRoot: undefined };
  const count = (value: string | undefined) => (value && Number.isInteger(Number(value)) && Number(value) >= 1 ? Number(value) : undefined);
  for (const arg of argv) {
    const [flag, value] = arg.split('=', 2) as [string, string | undefined];
    if (flag === '--quick') args.quick = true;
    else if (flag === '--check') args.check = true;
    else if (flag === '--profile') args.profile = true;
    else if (flag === '--only' && value) args.only = value.split(',');
    else if (flag === '--pairs' && count(value)) args.pairs = count(value);
    else if (flag === '--worker-tasks' && count(value)) args.workerTasks = count(value);
    else if (flag === '--taskyard-root' && value) args.taskyardRoot = resolve(value);
    else {
      throw new Error(
        `unknown argument "${arg}" (known: --quick, --check, --profile, --only=<scenario,...>, --pairs=<n>, --worker-tasks=<n>, --taskyard-root=<dir>)`,
      );
    }
  }
  const known = SCENARIOS.map((scenario) => scenario.name);
  const unknown = (args.only ?? []).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const at = new Date();
  const stamp = at.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const sizes: ScenarioSizes = {
    ...(args.quick ? QUICK : FULL),
    ...(args.pairs ? { pairs: args.pairs, soakPairs: args.pairs } : {}),
    ...(args.workerTasks ? { workerTasks: args.workerTasks } : {}),
  };
  const profileDir = args.profile ? resolve(ROOT, 'bench/profiles', stamp) : undefined;

  log(`taskyard bench${args.quick ? ' (quick)' : ''}: building…`);
  if (args.taskyardRoot) log(`measuring the build in ${args.taskyardRoot} (not rebuilt)`);
  else ensureBuilt(log);
  const redis = await new BenchRedis().start();
  const stopRedis = () => void redis.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopRedis);
  process.once('SIGTERM', stopRedis);

  const outcomes: ScenarioOutcome[] = [];
  try {
    const taskyard = new TaskyardSide(redis.url, args.taskyardRoot);
    const ctx: BenchContext = {
      redis,
      taskyard,
      raw: new RawSide(redis.url, taskyard),
      sizes,
      shared: { submitCost: { taskyard: [], raw: [] }, processCost: { taskyard: [], raw: [] } },
      profileDir,
      log,
    };
    log(`redis-server ${await redis.version()} on port ${redis.port} (no persistence); ${sizes.pairs} pairs per scenario`);
    for (const scenario of SCENARIOS) {
      if (args.only && !args.only.includes(scenario.name)) continue;
      log(`\n${scenario.title}`);
      const started = performance.now();
      const outcome: ScenarioOutcome = { name: scenario.name, title: scenario.title, rows: scenario.rows, seconds: 0 };
      try {
        outcome.result = await scenario.run(ctx);
      } catch (err) {
        outcome.error = err instanceof Error ? err.message : String(err);
        log(`  FAILED: ${outcome.error}`);
      }
      outcome.seconds = (performance.now() - started) / 1000;
      outcomes.push(outcome);
    }

    const { results, samples } = buildResults(outcomes, { at, cpus: cpus().length, node: process.version, redis: await redis.version(), quick: args.quick });
    const markdown = toMarkdown(results, samples, outcomes);
    const paths = writeResults(profileDir ?? resolve(ROOT, 'bench/results'), results, markdown);
    log(`\n${markdown}`);
    log(`written: ${paths.json}\n         ${paths.markdown}`);
    if (profileDir) log(`profiles: ${profileDir} (npx tsx scripts/bench/profile-summary.ts <dir>)`);

    const problems = missingFigures(outcomes, results);
    if (args.check && problems.length > 0) {
      log(`\ncheck failed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
      return 1;
    }
    return 0;
  } finally {
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
