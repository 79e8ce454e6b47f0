import type { BenchRedis } from './bench-redis';
import type { RawSide, Side, SideName, TaskyardSide } from './sides';

/** The rows of the targets table, in its order: the JSON has one entry for each. */
export const ROW_NAMES = [
  'http-submit',
  'http-submit-p99',
  'batch-submit-1000',
  'worker-c1',
  'worker-c10',
  'worker-c50',
  'e2e-p50',
  'e2e-p99',
  'redis-commands-per-task',
  'soak-rss-growth',
  'soak-redis-memory',
  'batch-role-50-vs-1',
  'fair-vs-plain',
] as const;
export type RowName = (typeof ROW_NAMES)[number];

/** How a row's target is stated (see the targets table). */
export type TargetSpec =
  | { kind: 'ratio-min'; value: number }
  | { kind: 'ratio-max'; value: number }
  /** taskyard - raw ≤ value, in the row's unit (median of the per-pair differences). */
  | { kind: 'diff-max'; value: number }
  /** taskyard < value, in the row's unit. */
  | { kind: 'value-below'; value: number }
  | { kind: 'none' };

/** One row's samples: taskyard[i] and raw[i] were measured back to back (pair i). */
export interface RowSamples {
  name: RowName;
  unit: string;
  taskyard: number[];
  raw: number[];
  target: TargetSpec;
}

export interface ScenarioResult {
  rows: RowSamples[];
  /** Everything else worth keeping: secondary figures, per-sample breakdowns. */
  details: Record<string, unknown>;
  /** Lines for the markdown report, for figures that are not rows of the targets table. */
  notes?: string[];
}

/** Redis cost of one sample: every command (those run inside Lua included) and Lua calls, per task. */
export interface CostSample {
  commandsPerTask: number;
  luaPerTask: number;
  byCommand: Record<string, number>;
}

/** What scenarios hand on to later ones (the Redis cost row is made of scenarios 1 and 3). */
export interface SharedMeasurements {
  submitCost: Record<SideName, CostSample[]>;
  processCost: Record<SideName, CostSample[]>;
}

export interface ScenarioSizes {
  pairs: number;
  httpSeconds: number;
  httpWarmupSeconds: number;
  batchTasks: number;
  workerTasks: number;
  e2eRate: number;
  e2eSeconds: number;
  e2eWarmupSeconds: number;
  soakTasks: number;
  soakWarmupTasks: number;
  soakPairs: number;
}

export interface BenchContext {
  redis: BenchRedis;
  taskyard: TaskyardSide;
  raw: RawSide;
  sizes: ScenarioSizes;
  shared: SharedMeasurements;
  /** Set when profiling: Taskyard and raw processes of scenarios 1 and 3 write CPU profiles under it. */
  profileDir: string | undefined;
  log: (line: string) => void;
}

export interface Scenario {
  /** As given to --only. */
  name: string;
  title: string;
  rows: readonly RowName[];
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

/**
 * Runs `sample` for Taskyard then raw, `pairs` times (A B A B …), so both sides see the same
 * machine, the same Redis and the same drift; returns the samples of each side in pair order.
 */
export async function alternate<T>(
  ctx: BenchContext,
  pairs: number,
  sample: (side: Side, pair: number) => Promise<T>,
): Promise<Record<SideName, T[]>> {
  const out: Record<SideName, T[]> = { taskyard: [], raw: [] };
  for (let pair = 0; pair < pairs; pair++) {
    for (const side of [ctx.taskyard, ctx.raw] as const) {
      out[side.name].push(await sample(side, pair));
    }
  }
  return out;
}
