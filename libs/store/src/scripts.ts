import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RedisClient } from './redis-client';

/** Where the scripts live: libs/store/lua, beside src/ and dist/ alike. */
const LUA_DIR = resolve(__dirname, '../lua');

/** Every Lua script Taskyard runs: one file each (its header says KEYS, ARGV and the output), with its key count (undefined: given per call). */
const SCRIPTS = {
  taskyardReadTask: { file: 'read-task.lua', keys: 12 },
  taskyardClaimDeadLetterReplay: { file: 'claim-dead-letter-replay.lua', keys: 2 },
  taskyardClaimIdempotencyKey: { file: 'claim-idempotency-key.lua', keys: 1 },
  taskyardSettleIdempotencyKey: { file: 'settle-idempotency-key.lua', keys: 1 },
  taskyardReleaseOnceClaim: { file: 'release-once-claim.lua', keys: 1 },
  taskyardSetRecords: { file: 'set-records.lua', keys: undefined },
  taskyardClaimCircuitProbe: { file: 'claim-circuit-probe.lua', keys: 2 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type ScriptArg = string | number;

/** A connection with Taskyard's scripts defined on it (EVALSHA; ioredis loads a script Redis does not know yet). */
export type ScriptedRedis = RedisClient & {
  [K in ScriptName]: (...keysThenArgs: ScriptArg[]) => Promise<unknown>;
};

let sources: Map<ScriptName, string> | undefined;
const scripted = new WeakSet<RedisClient>();

/**
 * `redis` with every script defined on it; the files are read once per process and the
 * scripts defined once per connection, then called by SHA.
 */
export function withScripts(redis: RedisClient): ScriptedRedis {
  if (!scripted.has(redis)) {
    sources ??= new Map((Object.keys(SCRIPTS) as ScriptName[]).map((name) => [name, readFileSync(resolve(LUA_DIR, SCRIPTS[name].file), 'utf8')]));
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      const keys = SCRIPTS[name].keys;
      redis.defineCommand(name, { lua: sources.get(name)!, ...(keys === undefined ? {} : { numberOfKeys: keys }) });
    }
    scripted.add(redis);
  }
  return redis as ScriptedRedis;
}
