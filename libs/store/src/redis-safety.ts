import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ConfigError } from '@taskyard/config';
import type { RedisClient } from './redis-client';
import { isCluster, waitForRedis } from './redis-connection';

/**
 * Redis is Taskyard's system of record: an accepted task exists only in Redis. Two settings
 * decide whether it stays there:
 * - `maxmemory-policy noeviction`: under any other policy a full Redis silently deletes keys
 *   (queued jobs, their locks) to make room; with noeviction it refuses writes instead, which
 *   the API turns into 503 REDIS_FULL.
 * - AOF persistence (`appendonly yes`, `appendfsync always|everysec`): without it a Redis
 *   restart forgets every task it held.
 */

/** `unknown`: Redis would not tell us (e.g. CONFIG disabled on a managed service). */
export type SafetyVerdict = 'safe' | 'unsafe' | 'unknown';

export type SafetySetting = 'maxmemory-policy' | 'appendonly' | 'appendfsync';

export interface RedisSafetyFinding {
  /** The setting as spelled in redis.conf. */
  setting: SafetySetting;
  /** Its value, when Redis told us. */
  value: string | undefined;
  verdict: SafetyVerdict;
  /** For a finding that is not safe: what is wrong and what to set. */
  message?: string;
}

export interface RedisSafetyReport {
  findings: RedisSafetyFinding[];
  /** The eviction policy, when known (kept as its own field for log lines and callers). */
  maxmemoryPolicy: string | undefined;
  /** One line per finding that is not safe, each saying what to set. */
  warnings: string[];
  /** True when a setting is known to be unsafe (unknown settings do not count). */
  unsafe: boolean;
}

/**
 * Reads the settings through INFO, which managed Redis services allow, and asks CONFIG GET only
 * for what INFO does not show (appendfsync); when a command is refused the finding is `unknown`.
 * On a cluster every master is checked, and each finding that is not safe names its node.
 */
export async function checkRedisSafety(redis: RedisClient): Promise<RedisSafetyReport> {
  if (!isCluster(redis)) return checkNode(redis);
  const reports = await Promise.all(
    redis.nodes('master').map(async (node) => {
      const report = await checkNode(node);
      const where = `${node.options.host}:${node.options.port}`;
      return {
        ...report,
        findings: report.findings.map((finding) => (finding.message ? { ...finding, message: `${where}: ${finding.message}` } : finding)),
      };
    }),
  );
  const findings = reports.flatMap((report) => report.findings);
  const policies = new Set(reports.map((report) => report.maxmemoryPolicy));
  return {
    findings,
    maxmemoryPolicy: policies.size === 1 ? [...policies][0] : undefined,
    warnings: findings.flatMap((finding) => (finding.message ? [finding.message] : [])),
    unsafe: findings.some((finding) => finding.verdict === 'unsafe'),
  };
}

async function checkNode(redis: Redis): Promise<RedisSafetyReport> {
  const memory = await readInfo(redis, 'memory');
  const persistence = await readInfo(redis, 'persistence');

  const policy = memory?.get('maxmemory_policy') ?? (await readConfig(redis, 'maxmemory-policy'));
  const aofEnabled = persistence?.get('aof_enabled');
  const appendonly = aofEnabled === undefined ? await readConfig(redis, 'appendonly') : aofEnabled === '1' ? 'yes' : 'no';

  const findings = [evictionFinding(policy), ...persistenceFindings(appendonly, appendonly === 'yes' ? await readConfig(redis, 'appendfsync') : undefined)];
  const warnings = findings.flatMap((finding) => (finding.message ? [finding.message] : []));
  return { findings, maxmemoryPolicy: policy, warnings, unsafe: findings.some((finding) => finding.verdict === 'unsafe') };
}

function evictionFinding(policy: string | undefined): RedisSafetyFinding {
  if (policy === undefined) {
    return {
      setting: 'maxmemory-policy',
      value: undefined,
      verdict: 'unknown',
      message: 'could not tell Redis maxmemory-policy (INFO and CONFIG refused); it must be noeviction or Redis may evict queued tasks',
    };
  }
  if (policy === 'noeviction') return { setting: 'maxmemory-policy', value: policy, verdict: 'safe' };
  return {
    setting: 'maxmemory-policy',
    value: policy,
    verdict: 'unsafe',
    message: `Redis maxmemory-policy is "${policy}": when Redis is full it deletes keys, queued tasks and their locks among them; set maxmemory-policy noeviction`,
  };
}

function persistenceFindings(appendonly: string | undefined, appendfsync: string | undefined): RedisSafetyFinding[] {
  if (appendonly === undefined) {
    return [
      {
        setting: 'appendonly',
        value: undefined,
        verdict: 'unknown',
        message: 'could not tell whether Redis AOF persistence is on (INFO and CONFIG refused); without appendonly yes a Redis restart loses every queued task',
      },
    ];
  }
  if (appendonly !== 'yes') {
    return [
      {
        setting: 'appendonly',
        value: appendonly,
        verdict: 'unsafe',
        message:
          'Redis AOF persistence is off (appendonly no): a Redis restart loses every queued task (RDB snapshots keep only what was saved before the last one); set appendonly yes with appendfsync everysec or always',
      },
    ];
  }
  const aof: RedisSafetyFinding = { setting: 'appendonly', value: appendonly, verdict: 'safe' };
  if (appendfsync === 'always' || appendfsync === 'everysec') return [aof, { setting: 'appendfsync', value: appendfsync, verdict: 'safe' }];
  if (appendfsync === undefined) {
    return [
      aof,
      {
        setting: 'appendfsync',
        value: undefined,
        verdict: 'unknown',
        message:
          'could not tell Redis appendfsync (CONFIG GET is refused: disabled, as on many managed services, or not granted to this ACL user); make sure it is everysec or always',
      },
    ];
  }
  return [
    aof,
    {
      setting: 'appendfsync',
      value: appendfsync,
      verdict: 'unsafe',
      message: `Redis appendfsync is "${appendfsync}": the OS flushes the AOF when it likes (about every 30 s), so a machine crash loses the tasks accepted since; set appendfsync everysec or always`,
    },
  ];
}

/** Thrown at start when REQUIRE_SAFE_REDIS=true and Redis is unsafe or cannot be checked. */
export class UnsafeRedisError extends ConfigError {
  constructor(problems: readonly string[]) {
    super(problems);
    this.message = `REQUIRE_SAFE_REDIS=true and Redis is not safe for queues; refusing to start:\n  - ${problems.join('\n  - ')}`;
  }
}

export interface RedisSafetyPolicy {
  logger: Logger;
  /** REQUIRE_SAFE_REDIS: refuse to start (throw UnsafeRedisError) instead of only warning. */
  requireSafe: boolean;
  /**
   * Wait this long for the connection to be ready; a Redis that does not come in time is
   * refused under requireSafe (it cannot be checked). Without it, commands wait as the
   * connection does (a worker connection waits for Redis forever).
   */
  readyWithinMs?: number;
}

/**
 * The start-up check both apps run once Redis answers: logs a warning per finding that is not
 * safe and, under REQUIRE_SAFE_REDIS, throws UnsafeRedisError naming the unsafe settings.
 * Unknown findings only warn: a managed Redis that hides CONFIG must still be usable.
 */
export async function enforceRedisSafety(redis: RedisClient, { logger, requireSafe, readyWithinMs }: RedisSafetyPolicy): Promise<RedisSafetyReport> {
  if (readyWithinMs !== undefined) {
    await waitForRedis(redis, readyWithinMs).catch((err: unknown) => {
      if (!requireSafe) throw err;
      throw new UnsafeRedisError([`could not check Redis: ${err instanceof Error ? err.message : String(err)}`]);
    });
  }
  const report = await checkRedisSafety(redis);
  for (const finding of report.findings) {
    if (finding.message) logger.warn({ redisSetting: finding.setting, value: finding.value, verdict: finding.verdict }, finding.message);
  }
  if (requireSafe && report.unsafe) {
    throw new UnsafeRedisError(report.findings.filter((finding) => finding.verdict === 'unsafe').map((finding) => finding.message!));
  }
  return report;
}

/** One INFO section as a map, or undefined when INFO is refused. */
async function readInfo(redis: Redis, section: string): Promise<Map<string, string> | undefined> {
  try {
    const text = await redis.info(section);
    const fields = new Map<string, string>();
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
    }
    return fields;
  } catch (err) {
    return refused(err);
  }
}

/** One CONFIG GET value, or undefined when CONFIG is refused or renamed away. */
async function readConfig(redis: Redis, parameter: string): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', parameter)) as string[];
    return reply[1];
  } catch (err) {
    return refused(err);
  }
}

/** A command Redis refused (disabled, renamed, ACL) means "could not tell"; an outage is rethrown. */
function refused(err: unknown): undefined {
  if (err instanceof Error && err.name === 'ReplyError') return undefined;
  throw err;
}
