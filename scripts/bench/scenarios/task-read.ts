import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { DelayProxy } from '../lib/delay-proxy';
import type { BenchContext, Scenario } from '../lib/scenario';
import { ECHO, ECHO_PAYLOAD } from '../lib/sides';
import { median } from '../lib/stats';

/** Each chunk to and from Redis waits this long: one round trip costs 2 × this. */
const ONE_WAY_MS = 25;
/** Requests measured per deployment (one after the other, so each one's round trips add up). */
const REQUESTS = 15;
/** Roles beside echo in the many-roles deployment. */
const EXTRA_ROLES = 19;

/**
 * 7. What one `GET /v1/tasks/:id` costs as the number of roles grows: the Taskyard API (no raw
 * BullMQ counterpart has one) talks to Redis through a proxy that delays every chunk, so a
 * request's latency over the round-trip time is the number of round trips it waited for one
 * after the other; a MONITOR connection counts the commands it sent (and those its Lua ran).
 * Measured with echo alone (BUILT_IN_ROLES=echo; a build without that setting keeps its
 * built-in roles) and with 19 generated roles more (ROLE_MODULES). Submits are measured the
 * same way: the submit path must not gain a round trip; and a search (GET /v1/tasks?limit=20
 * over every role).
 */
export const taskRead: Scenario = {
  name: 'task-read',
  title: '7. GET /v1/tasks/:id and GET /v1/tasks with 1 and 20 roles: commands and round trips',
  rows: [],
  async run(ctx) {
    const extraRoles = writeExtraRoles(ctx.taskyard.root);
    const deployments = { few: {}, many: { ROLE_MODULES: extraRoles } };
    const details: Record<string, unknown> = { oneWayDelayMs: ONE_WAY_MS, requests: REQUESTS };
    const notes: string[] = [];
    for (const [name, env] of Object.entries(deployments)) {
      const figures = await measure(ctx, env);
      details[name] = figures;
      const line =
        `${figures.roles} role(s): GET ${figures.read.roundTrips} round trips, ${figures.read.commands} commands (${figures.read.topLevelCommands} sent, ` +
        `${figures.read.scriptCalls} Lua); POST ${figures.submit.roundTrips} round trips, ${figures.submit.commands} commands; ` +
        `search of 20 ${figures.search.roundTrips} round trips, ${figures.search.commands} commands (${figures.search.scriptCalls} Lua)`;
      ctx.log(`  ${line}`);
      notes.push(line);
    }
    return { rows: [], details, notes };
  },
};

interface RequestCost {
  /** Median latency over the round-trip time, to one decimal. */
  roundTrips: number;
  /** Commands Redis ran per request, those inside Lua included (median). */
  commands: number;
  /** Commands the API sent (median): Lua calls count once here. */
  topLevelCommands: number;
  scriptCalls: number;
  byCommand: Record<string, number>;
}

async function measure(ctx: BenchContext, extraEnv: Record<string, string>) {
  await ctx.redis.reset();
  const proxy = await new DelayProxy({ host: '127.0.0.1', port: ctx.redis.port }, ONE_WAY_MS).start();
  const api = await ctx.taskyard.startApi({ extraEnv: { REDIS_URL: proxy.url, BUILT_IN_ROLES: ECHO, ...extraEnv } });
  const monitor = new Redis(ctx.redis.url);
  try {
    const roles = ((await (await fetch(api.submitUrl.replace(/tasks$/, 'roles'), { headers: api.headers })).json()) as { roles?: unknown[] }).roles?.length;
    // A warm-up pair: the first request loads scripts and makes connections.
    const warm = await submit(api);
    await read(api, warm);

    const watch = await Monitor.start(monitor);
    const submits: Sample[] = [];
    const ids: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      submits.push(await watch.around(async () => ids.push(await submit(api))));
    }
    const reads: Sample[] = [];
    for (const id of ids) reads.push(await watch.around(() => read(api, id)));
    // A search of every role's newest 20 (GET /v1/tasks?limit=20): one script call per role, in parallel.
    const searches: Sample[] = [];
    for (let i = 0; i < REQUESTS; i++) searches.push(await watch.around(() => search(api)));
    await watch.stop();
    return { roles: roles ?? null, submit: summarise(submits), read: summarise(reads), search: summarise(searches) };
  } finally {
    monitor.disconnect();
    await api.process.stop();
    await proxy.stop();
  }
}

async function submit(api: { submitUrl: string; headers: Record<string, string> }): Promise<string> {
  const response = await fetch(api.submitUrl, { method: 'POST', headers: api.headers, body: JSON.stringify({ role: ECHO, payload: ECHO_PAYLOAD }) });
  const body = (await response.json()) as { id?: string };
  if (response.status !== 202 || !body.id) throw new Error(`submit answered ${response.status}: ${JSON.stringify(body)}`);
  return body.id;
}

async function search(api: { submitUrl: string; headers: Record<string, string> }): Promise<void> {
  const response = await fetch(`${api.submitUrl}?limit=20`, { headers: api.headers });
  if (response.status !== 200) throw new Error(`GET /v1/tasks answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

async function read(api: { submitUrl: string; headers: Record<string, string> }, id: string): Promise<void> {
  const response = await fetch(`${api.submitUrl}/${encodeURIComponent(id)}`, { headers: api.headers });
  if (response.status !== 200) throw new Error(`GET /v1/tasks/${id} answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

interface Sample {
  ms: number;
  commands: string[];
  fromScripts: number;
}

/**
 * A MONITOR connection on the bench Redis (not through the proxy). Redis streams every command
 * it runs, each with its source (`lua` for those run by a script); a request's commands are
 * those seen between two PINGs of this connection's own client, sent before and after it.
 */
class Monitor {
  private seen: { command: string; lua: boolean }[] = [];
  private marks = 0;
  private waiting: (() => void) | undefined;

  private constructor(
    private readonly feed: Awaited<ReturnType<Redis['monitor']>>,
    private readonly marker: Redis,
  ) {
    feed.on('monitor', (_time: string, args: string[], source: string) => {
      const command = (args[0] ?? '').toLowerCase();
      if (command === 'echo' && args[1]?.startsWith('taskyard-bench-mark')) {
        this.marks++;
        this.waiting?.();
        return;
      }
      this.seen.push({ command, lua: source === 'lua' });
    });
  }

  static async start(client: Redis): Promise<Monitor> {
    const marker = client.duplicate();
    return new Monitor(await client.monitor(), marker);
  }

  /** Runs `request` between two marks; the commands in between are its own. */
  async around(request: () => Promise<unknown>): Promise<Sample> {
    await this.mark();
    this.seen = [];
    const started = performance.now();
    await request();
    const ms = performance.now() - started;
    await this.mark();
    const commands = this.seen.map((entry) => entry.command);
    return { ms, commands, fromScripts: this.seen.filter((entry) => entry.lua).length };
  }

  private async mark(): Promise<void> {
    const expected = this.marks + 1;
    const seen = new Promise<void>((resolve) => {
      this.waiting = () => this.marks >= expected && resolve();
    });
    await this.marker.echo(`taskyard-bench-mark-${expected}`);
    await seen;
  }

  async stop(): Promise<void> {
    this.marker.disconnect();
    this.feed.disconnect();
  }
}

function summarise(samples: readonly Sample[]): RequestCost {
  const rtt = 2 * ONE_WAY_MS;
  const byCommand: Record<string, number> = {};
  for (const command of samples.at(-1)?.commands ?? []) byCommand[command] = (byCommand[command] ?? 0) + 1;
  const scriptCalls = (sample: Sample) => sample.commands.filter((command) => command === 'evalsha' || command === 'eval').length;
  return {
    roundTrips: Math.round((median(samples.map((sample) => sample.ms)) / rtt) * 10) / 10,
    commands: median(samples.map((sample) => sample.commands.length)),
    topLevelCommands: median(samples.map((sample) => sample.commands.length - sample.fromScripts)),
    scriptCalls: median(samples.map(scriptCalls)),
    byCommand,
  };
}

/**
 * A role module with EXTRA_ROLES echo-like roles, for the build at `root`: it requires that
 * build's roles lib (`@taskyard/roles`, or `@taskyard/shared` in a build from before the split).
 */
function writeExtraRoles(root: string): string {
  const dir = resolve(root, '.taskyard/bench');
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, 'extra-roles.cjs');
  writeFileSync(
    path,
    `// Written by scripts/bench/scenarios/task-read.ts: ${EXTRA_ROLES} roles that only make the registry bigger.
let lib;
try { lib = require('@taskyard/roles'); } catch { lib = require('@taskyard/shared'); }
const { z } = require('zod');
module.exports = Array.from({ length: ${EXTRA_ROLES} }, (_, i) =>
  lib.defineRole({
    name: 'bench.extra-' + String(i + 1).padStart(2, '0'),
    description: 'A bench role: makes the registry bigger.',
    input: z.object({ message: z.string().max(100) }).strict(),
    output: z.object({ ok: z.boolean() }),
    handler: async () => ({ ok: true }),
  }),
);
`,
  );
  return path;
}
