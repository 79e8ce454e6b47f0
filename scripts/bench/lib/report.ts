import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROW_NAMES, type RowName, type RowSamples, type ScenarioResult, type TargetSpec } from './scenario';
import { median, medianDifference, medianRatio, round, spread } from './stats';

/** One entry of `scenarios` in the results JSON: the shape issue 3 fixes. */
export interface ResultRow {
  name: RowName;
  unit: string;
  taskyard: number | null;
  raw: number | null;
  ratio: number | null;
  target: string | null;
  met: boolean | null;
}

export interface BenchResults {
  at: string;
  machine: { cpus: number; node: string; redis: string };
  quick: boolean;
  scenarios: ResultRow[];
  /** Beyond the fixed shape: samples, spreads, secondary figures and errors, by scenario. */
  details: Record<string, unknown>;
}

export interface ScenarioOutcome {
  name: string;
  title: string;
  rows: readonly RowName[];
  result?: ScenarioResult;
  error?: string;
  seconds: number;
}

const EMPTY_ROW = { taskyard: [], raw: [] };

export function targetText(target: TargetSpec, unit: string): string | null {
  switch (target.kind) {
    case 'ratio-min':
      return `≥ ${target.value} × raw`;
    case 'ratio-max':
      return `≤ ${target.value} × raw`;
    case 'diff-max':
      return `≤ raw + ${target.value} ${unit}`;
    case 'value-below':
      return `< ${target.value} ${unit}`;
    case 'none':
      return null;
  }
}

/** A row judged by its difference shows the precision it is judged at (two decimals); others round(). */
function roundFor(row: Pick<RowSamples, 'target'>, value: number): number {
  return row.target.kind === 'diff-max' ? Math.round(value * 100) / 100 : round(value);
}

/** Medians, the median of the per-pair ratios, and whether the target is met (null when it cannot be told). */
export function summariseRow(row: RowSamples): ResultRow {
  const mid = (values: number[]) => (values.length === 0 ? null : roundFor(row, median(values)));
  // An absolute target (soak growth) has no meaningful ratio: growths near zero or below it would divide.
  const ratio = row.target.kind === 'value-below' ? null : medianRatio(row.taskyard, row.raw);
  const taskyard = mid(row.taskyard);
  let met: boolean | null = null;
  switch (row.target.kind) {
    case 'ratio-min':
      met = ratio === null ? null : ratio >= row.target.value;
      break;
    case 'ratio-max':
      met = ratio === null ? null : ratio <= row.target.value;
      break;
    case 'diff-max': {
      const difference = medianDifference(row.taskyard, row.raw);
      // To the table's precision: per-task counts carry a few background commands (stall checks,
      // reconnects) spread over thousands of tasks, e.g. 38.0237 vs 36.0235.
      met = difference === null ? null : Math.round(difference * 100) / 100 <= row.target.value;
      break;
    }
    case 'value-below':
      met = taskyard === null || Number.isNaN(taskyard) ? null : median(row.taskyard) < row.target.value;
      break;
    case 'none':
      met = null;
  }
  return {
    name: row.name,
    unit: row.unit,
    taskyard,
    raw: mid(row.raw),
    ratio: ratio === null ? null : round(ratio),
    target: targetText(row.target, row.unit),
    met,
  };
}

/** Every row of the targets table in order; a row whose scenario failed or was skipped has nulls. */
export function buildResults(
  outcomes: readonly ScenarioOutcome[],
  meta: { at: Date; cpus: number; node: string; redis: string; quick: boolean },
): { results: BenchResults; samples: Map<RowName, RowSamples> } {
  const samples = new Map<RowName, RowSamples>();
  for (const outcome of outcomes) for (const row of outcome.result?.rows ?? []) samples.set(row.name, row);
  const scenarios = ROW_NAMES.map((name) => {
    const row = samples.get(name);
    return row ? summariseRow(row) : { name, unit: '', ...{ taskyard: null, raw: null }, ratio: null, target: null, met: null };
  });
  const details: Record<string, unknown> = {};
  for (const outcome of outcomes) {
    details[outcome.name] = {
      seconds: round(outcome.seconds),
      ...(outcome.error ? { error: outcome.error } : {}),
      ...(outcome.result?.details ?? {}),
      samples: Object.fromEntries((outcome.result?.rows ?? []).map((row) => [row.name, { taskyard: row.taskyard.map(round), raw: row.raw.map(round) }])),
    };
  }
  return {
    results: { at: meta.at.toISOString(), machine: { cpus: meta.cpus, node: meta.node, redis: meta.redis }, quick: meta.quick, scenarios, details },
    samples,
  };
}

/** Rows a `--check` run must have: every row of the scenarios that ran has both figures. */
export function missingFigures(outcomes: readonly ScenarioOutcome[], results: BenchResults): string[] {
  const problems: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.error) problems.push(`${outcome.name}: ${outcome.error.split('\n')[0]}`);
    for (const name of outcome.rows) {
      const row = results.scenarios.find((candidate) => candidate.name === name);
      const bad = (value: number | null | undefined) => value === null || value === undefined || !Number.isFinite(value);
      if (!row || bad(row.taskyard) || bad(row.raw)) problems.push(`${name}: no figures`);
    }
  }
  return problems;
}

export function toMarkdown(results: BenchResults, samples: ReadonlyMap<RowName, RowSamples>, outcomes: readonly ScenarioOutcome[]): string {
  const n = (value: number | null | undefined, target?: RowSamples['target']) =>
    value === null || value === undefined || Number.isNaN(value) ? '—' : String(target ? roundFor({ target }, value) : round(value));
  const range = (values: readonly number[], target?: RowSamples['target']) => {
    const s = spread(values);
    return s ? ` (${n(s.min, target)}–${n(s.max, target)})` : '';
  };
  const lines = [
    `# Taskyard benchmark, ${results.at}${results.quick ? ' (quick)' : ''}`,
    '',
    `${results.machine.cpus} CPUs, Node ${results.machine.node}, Redis ${results.machine.redis}. ` +
      'Medians of the samples (min–max in brackets); the ratio is the median of the per-pair Taskyard/raw ratios.',
    '',
    '| row | unit | Taskyard | raw | ratio | target | met |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of results.scenarios) {
    const sample = samples.get(row.name) ?? { ...EMPTY_ROW };
    const target = 'target' in sample ? sample.target : undefined;
    const ratios = sample.taskyard.map((value, i) => value / (sample.raw[i] ?? Number.NaN)).filter(Number.isFinite);
    lines.push(
      `| ${row.name} | ${row.unit} | ${n(row.taskyard, target)}${range(sample.taskyard, target)} | ${n(row.raw, target)}${range(sample.raw, target)} | ` +
        `${row.ratio === null ? '—' : `${n(row.ratio)}${range(ratios)}`} | ${row.target ?? '—'} | ${row.met === null ? '—' : row.met ? 'yes' : 'no'} |`,
    );
  }
  for (const outcome of outcomes) {
    const notes = outcome.result?.notes ?? [];
    if (notes.length > 0) lines.push('', `## ${outcome.title}`, '', ...notes.map((note) => `- ${note}`));
  }
  const failed = outcomes.filter((outcome) => outcome.error);
  if (failed.length > 0) {
    lines.push('', '## Failed scenarios', '');
    for (const outcome of failed) lines.push(`- ${outcome.title}: ${outcome.error!.split('\n')[0]}`);
  }
  lines.push('', `Samples and secondary figures (p50, p95, batches of 100, Lua calls, per-process RSS) are in the JSON's \`details\`.`, '');
  return lines.join('\n');
}

/** Writes `<dir>/<timestamp>.json` and `.md`; returns their paths. */
export function writeResults(dir: string, results: BenchResults, markdown: string): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = results.at.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const paths = { json: join(dir, `${stamp}.json`), markdown: join(dir, `${stamp}.md`) };
  writeFileSync(paths.json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(paths.markdown, markdown);
  return paths;
}
