import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnRedisServer } from '../../lib/local-redis';
import { freePort } from './free-port';

/** Calls per command name, from `INFO commandstats` (commands run inside Lua scripts included). */
export type CommandStats = Record<string, number>;

/** The commands that run Lua: what "Lua calls" counts. */
export const LUA_COMMANDS = ['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'];

/**
 * The bench's own redis-server: a free port, loopback only, no RDB and no AOF (so disk never
 * dominates a figure), noeviction as Taskyard requires. It is flushed between samples, so it
 * must never be a Redis anyone else uses.
 */
export class BenchRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'taskyard-bench-redis-'));
  port = 0;
  /** The bench's own connection: probes, flushes, INFO. */
  client!: Redis;
  private child: ChildProcess | undefined;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    this.child = await spawnRedisServer({ port: this.port, dir: this.dir, appendfsync: 'off', extraArgs: ['--loglevel', 'warning'] });
    this.client = new Redis(this.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    this.client.on('error', () => undefined);
    await this.client.ping();
    return this;
  }

  async version(): Promise<string> {
    return /redis_version:(\S+)/.exec(await this.client.info('server'))?.[1] ?? 'unknown';
  }

  /** Deletes every key and resets the statistics: each sample starts from an empty Redis. */
  async reset(): Promise<void> {
    await this.client.flushall('SYNC');
    await this.client.config('RESETSTAT');
  }

  async commandStats(): Promise<CommandStats> {
    const stats: CommandStats = {};
    for (const match of (await this.client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      stats[match[1]!] = Number(match[2]);
    }
    return stats;
  }

  async usedMemory(): Promise<number> {
    return Number(/^used_memory:(\d+)/m.exec(await this.client.info('memory'))?.[1] ?? Number.NaN);
  }

  async stop(): Promise<void> {
    this.client?.disconnect();
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What ran between two snapshots, leaving out the bench's own INFO, CONFIG and FLUSHALL calls. */
export function commandDelta(before: CommandStats, after: CommandStats): { commands: number; lua: number; byCommand: CommandStats } {
  const byCommand: CommandStats = {};
  let commands = 0;
  let lua = 0;
  for (const [name, calls] of Object.entries(after)) {
    if (name === 'info' || name.startsWith('config|') || name === 'flushall') continue;
    const delta = calls - (before[name] ?? 0);
    if (delta <= 0) continue;
    byCommand[name] = delta;
    commands += delta;
    if (LUA_COMMANDS.includes(name)) lua += delta;
  }
  return { commands, lua, byCommand };
}
