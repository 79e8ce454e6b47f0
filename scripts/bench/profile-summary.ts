/**
 * `npx tsx scripts/bench/profile-summary.ts <dir or .cpuprofile>... [--top=N]`
 *
 * Summarises `node --cpu-prof` profiles (all of a directory's are merged): the functions with the
 * most self time, self time by package, and the Taskyard functions (apps/, libs/) with the most
 * total time (their callees included), so a hot spot in our own code shows with its cost.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../lib/build';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Totals {
  totalUs: number;
  /** Sampled time the process was not idle: what the percentages are of. */
  busyUs: number;
  self: Map<string, number>;
  inclusive: Map<string, number>;
  byPackage: Map<string, number>;
}

const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value);

/** `bullmq`, `ioredis`, `taskyard:apps/api`, `node`, … for a script URL. */
export function packageOf(url: string): string {
  if (url === '') return '(native/gc/idle)';
  if (url.startsWith('node:')) return 'node';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const own = /\/(apps\/[^/]+|libs\/[^/]+)\//.exec(url);
  return own ? `taskyard:${own[1]}` : relative(ROOT, url.replace(/^file:\/\//, ''));
}

function keyOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === '') return functionName || '(anonymous)';
  const file = url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

function accumulate(profile: CpuProfile, totals: Totals): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i]!)!;
    totals.totalUs += delta;
    if (node.callFrame.functionName === '(idle)') continue;
    totals.busyUs += delta;
    add(totals.self, keyOf(node), delta);
    add(totals.byPackage, packageOf(node.callFrame.url), delta);
    // Each function on the stack once, however deep the recursion.
    const seen = new Set<string>();
    for (let current: ProfileNode | undefined = node; current; current = byId.get(parent.get(current.id) ?? -1)) {
      if (!packageOf(current.callFrame.url).startsWith('taskyard:')) continue;
      const key = keyOf(current);
      if (seen.has(key)) continue;
      seen.add(key);
      add(totals.inclusive, key, delta);
    }
  }
}

function files(paths: readonly string[]): string[] {
  return paths.flatMap((path) =>
    statSync(path).isDirectory()
      ? readdirSync(path).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(path, name))
      : [path],
  );
}

function main(): void {
  const args = process.argv.slice(2);
  const top = Number(args.find((arg) => arg.startsWith('--top='))?.slice(6) ?? 25);
  const paths = files(args.filter((arg) => !arg.startsWith('--')));
  if (paths.length === 0) throw new Error('usage: profile-summary.ts <dir or .cpuprofile>... [--top=N]');
  const totals: Totals = { totalUs: 0, busyUs: 0, self: new Map(), inclusive: new Map(), byPackage: new Map() };
  for (const path of paths) accumulate(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, totals);
  const pct = (us: number) => `${((us / totals.busyUs) * 100).toFixed(1).padStart(5)} %`;
  const table = (title: string, map: Map<string, number>, n: number) => {
    process.stdout.write(`\n${title}\n`);
    for (const [key, us] of [...map].sort(([, a], [, b]) => b - a).slice(0, n)) process.stdout.write(`  ${pct(us)}  ${key}\n`);
  };
  process.stdout.write(
    `${paths.length} profile(s), ${(totals.totalUs / 1e6).toFixed(1)} s sampled, ${(totals.busyUs / 1e6).toFixed(1)} s busy; percentages are of the busy time\n`,
  );
  table('self time by package', totals.byPackage, 15);
  table(`top ${top} functions by self time`, totals.self, top);
  table(`top ${top} Taskyard functions by total time (callees included)`, totals.inclusive, top);
}

main();
