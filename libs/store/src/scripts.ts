import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RedisClient } from './redis-client';

/** One Lua script: its file (whose header says KEYS, ARGV and the output) and its key count (undefined: given per call). */
export interface LuaScriptFile {
  readonly file: string;
  readonly keys: number | undefined;
}

type ScriptArg = string | number;

/** A connection with a script set's commands defined on it. */
export type WithScripts<Name extends string> = RedisClient & {
  [K in Name]: (...keysThenArgs: ScriptArg[]) => Promise<unknown>;
};

/**
 * A set of Lua scripts, one `.lua` file each in `dir`: the files are read once per process (on
 * first use, not on import) and the scripts defined once per connection, then called by SHA
 * (EVALSHA; ioredis loads a script Redis does not know yet). Taskyard's own scripts are one
 * set; a lib that keeps keys of its own (the example roles' documents) makes another, so every
 * script is loaded the same way.
 */
export class LuaScripts<Name extends string> {
  private sources: ReadonlyMap<Name, string> | undefined;
  private readonly defined = new WeakSet<RedisClient>();

  constructor(
    private readonly dir: string,
    private readonly scripts: Readonly<Record<Name, LuaScriptFile>>,
  ) {}

  /** `redis` with every script of this set defined on it. */
  on(redis: RedisClient): WithScripts<Name> {
    if (!this.defined.has(redis)) {
      const names = Object.keys(this.scripts) as Name[];
      this.sources ??= new Map(names.map((name) => [name, readFileSync(resolve(this.dir, this.scripts[name].file), 'utf8')]));
      for (const name of names) {
        // ioredis would silently replace a command (or another set's script) of the same name;
        // the same script defined already (on a connection seen through a wrapper) is no clash.
        if (name in redis) {
          if (scriptsOf(redis)[name]?.lua === this.sources.get(name)) continue;
          throw new Error(`Lua script "${name}" (${this.scripts[name].file}) would replace a command of the same name`);
        }
        const keys = this.scripts[name].keys;
        redis.defineCommand(name, { lua: this.sources.get(name)!, ...(keys === undefined ? {} : { numberOfKeys: keys }) });
      }
      this.defined.add(redis);
    }
    return redis as WithScripts<Name>;
  }
}

/** The scripts ioredis keeps for the custom commands defined on a connection. */
function scriptsOf(redis: RedisClient): Record<string, { lua?: string } | undefined> {
  return (redis as unknown as { scriptsSet?: Record<string, { lua?: string } | undefined> }).scriptsSet ?? {};
}

/** Taskyard's own scripts, in libs/store/lua (beside src/ and dist/ alike). */
const TASKYARD_SCRIPTS = new LuaScripts(resolve(__dirname, '../lua'), {
  taskyardReadTask: { file: 'read-task.lua', keys: 12 },
  taskyardClaimDeadLetterReplay: { file: 'claim-dead-letter-replay.lua', keys: 2 },
  taskyardClaimIdempotencyKey: { file: 'claim-idempotency-key.lua', keys: 1 },
  taskyardSettleIdempotencyKey: { file: 'settle-idempotency-key.lua', keys: 1 },
  taskyardReleaseOnceClaim: { file: 'release-once-claim.lua', keys: 1 },
  taskyardSetRecords: { file: 'set-records.lua', keys: undefined },
  taskyardClaimCircuitProbe: { file: 'claim-circuit-probe.lua', keys: 2 },
  taskyardRecordScheduleRun: { file: 'record-schedule-run.lua', keys: 2 },
  taskyardPruneWorkers: { file: 'prune-workers.lua', keys: 2 },
  taskyardIndexTask: { file: 'index-task.lua', keys: undefined },
  taskyardSearchTasks: { file: 'search-tasks.lua', keys: 6 },
  taskyardSweepTaskIndex: { file: 'sweep-task-index.lua', keys: 3 },
  taskyardAckBroadcast: { file: 'ack-broadcast.lua', keys: 2 },
  taskyardReserveFairTurns: { file: 'reserve-fair-turns.lua', keys: 2 },
  taskyardClaimTenantSlot: { file: 'claim-tenant-slot.lua', keys: 2 },
});

/** `redis` with Taskyard's own scripts defined on it. */
export function withScripts(redis: RedisClient) {
  return TASKYARD_SCRIPTS.on(redis);
}
