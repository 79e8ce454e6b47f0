import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRedisSafety } from '@taskyard/store';
import { spawnRedisServer } from '../../scripts/lib/local-redis';
import { ApiProcess } from '../support/api-process';
import { freePort } from '../support/free-port';
import { RedisServer, type RedisServerOptions } from '../support/redis-server';
import { testEnv } from '../support/test-env';
import { WorkerProcess, type LogLine } from '../support/worker-process';

/**
 * Redis as the system of record: the API and the worker check, once Redis answers, the settings
 * that keep accepted tasks (maxmemory-policy noeviction, AOF on with appendfsync everysec or
 * always), warn about each unsafe one, and refuse to start under REQUIRE_SAFE_REDIS=true.
 */
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function redisWith(options: RedisServerOptions): Promise<RedisServer> {
  const redis = await new RedisServer(options).start();
  cleanups.push(() => redis.destroy());
  return redis;
}

function apiProcess(env: Record<string, string>): ApiProcess {
  const api = new ApiProcess(env).launch();
  cleanups.push(() => api.stop());
  return api;
}

function workerProcess(env: Record<string, string>): WorkerProcess {
  const worker = new WorkerProcess(env).launch();
  cleanups.push(() => worker.stop());
  return worker;
}

/** The start-up warning about `setting`, if any. */
function safetyWarning(setting: string): (line: LogLine) => boolean {
  return (line) => line.level === 'warn' && line['redisSetting'] === setting;
}

function safetyWarnings(logs: LogLine[]): LogLine[] {
  return logs.filter((line) => typeof line['redisSetting'] === 'string');
}

describe('start-up check of the Redis settings', () => {
  it('passes a safe Redis (noeviction, AOF everysec) silently, also under REQUIRE_SAFE_REDIS=true', async () => {
    const redis = await redisWith({ appendfsync: 'everysec' });
    const env = testEnv({ REDIS_URL: redis.url, ROLES: 'echo', REQUIRE_SAFE_REDIS: 'true' });
    const api = apiProcess(env);
    const worker = workerProcess(env);

    const baseUrl = await api.waitUntilListening();
    await worker.waitUntilStarted();
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
    expect(safetyWarnings(api.logs)).toEqual([]);
    expect(safetyWarnings(worker.logs)).toEqual([]);
    expect([...api.stderr, ...worker.stderr]).toEqual([]);
  });

  it('warns at start about an evicting Redis (allkeys-lru), naming the setting to change, and still serves', async () => {
    const redis = await redisWith({ appendfsync: 'everysec', maxmemoryPolicy: 'allkeys-lru' });
    const env = testEnv({ REDIS_URL: redis.url, ROLES: 'echo' });
    const api = apiProcess(env);
    const worker = workerProcess(env);

    const baseUrl = await api.waitUntilListening();
    await worker.waitUntilStarted();
    for (const logs of [api, worker]) {
      const warning = await logs.waitForLog('the maxmemory-policy warning', safetyWarning('maxmemory-policy'));
      expect(warning).toMatchObject({ value: 'allkeys-lru', verdict: 'unsafe', msg: expect.stringContaining('set maxmemory-policy noeviction') });
      expect(safetyWarnings(logs.logs)).toHaveLength(1);
    }
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
  });

  it('warns at start about a Redis without persistence (appendonly no)', async () => {
    const redis = await redisWith({ appendfsync: 'off' });
    const env = testEnv({ REDIS_URL: redis.url, ROLES: 'echo' });
    const api = apiProcess(env);
    const worker = workerProcess(env);

    await api.waitUntilListening();
    await worker.waitUntilStarted();
    for (const logs of [api, worker]) {
      const warning = await logs.waitForLog('the persistence warning', safetyWarning('appendonly'));
      expect(warning).toMatchObject({ value: 'no', verdict: 'unsafe', msg: expect.stringContaining('set appendonly yes') });
      expect(safetyWarnings(logs.logs)).toHaveLength(1);
    }
  });

  it('with REQUIRE_SAFE_REDIS=true, the worker and the API refuse an unsafe Redis: exit 1 and name each unsafe setting on stderr', async () => {
    const redis = await redisWith({ appendfsync: 'off', maxmemoryPolicy: 'allkeys-lru' });
    const env = testEnv({ REDIS_URL: redis.url, ROLES: 'echo', REQUIRE_SAFE_REDIS: 'true' });
    const api = apiProcess(env);
    const worker = workerProcess(env);

    expect(await worker.exit()).toEqual({ code: 1, signal: null });
    expect(await api.exit()).toEqual({ code: 1, signal: null });
    for (const [name, stderr] of [['taskyard-worker', worker.stderr], ['taskyard-api', api.stderr]] as const) {
      const text = stderr.join('\n');
      expect(text).toContain(`${name}: REQUIRE_SAFE_REDIS=true and Redis is not safe for queues; refusing to start`);
      expect(text).toMatch(/maxmemory-policy is "allkeys-lru".*set maxmemory-policy noeviction/);
      expect(text).toMatch(/appendonly no.*set appendonly yes/);
    }
    // Refused before doing anything: the worker took no job, the API never listened.
    expect(worker.logs.some((line) => line.msg === 'workers started')).toBe(false);
    expect(api.logs.some((line) => /^Server listening/.test(line.msg ?? ''))).toBe(false);
  });

  it('with REQUIRE_SAFE_REDIS=true, the API does not listen before it could check Redis, then starts once a safe Redis answers', async () => {
    const port = await freePort();
    const redis = new RedisServer({ port, appendfsync: 'always' });
    cleanups.push(() => redis.destroy());
    const api = apiProcess(testEnv({ REDIS_URL: `redis://127.0.0.1:${port}`, ROLES: 'echo', REQUIRE_SAFE_REDIS: 'true' }));

    // It is waiting for Redis (its connection failed), and has not listened.
    await api.waitForLog('the API to wait for Redis', (line) => line.msg === 'REQUIRE_SAFE_REDIS: checking the Redis settings before listening');
    await api.waitForLog('its first connection to fail', (line) => typeof line.msg === 'string' && line.msg.startsWith('redis connection lost'));
    expect(api.logs.some((line) => /^Server listening/.test(line.msg ?? ''))).toBe(false);
    expect(api.stderr).toEqual([]);

    await redis.start();
    const baseUrl = await api.waitUntilListening();
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
    expect(safetyWarnings(api.logs)).toEqual([]);
  });
});

describe('checkRedisSafety', () => {
  /** A redis-server with extra arguments (RedisServer does not take any). */
  async function rawRedis(args: string[]): Promise<Redis> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'taskyard-redis-'));
    const child: ChildProcess = await spawnRedisServer({ port, dir, appendfsync: 'everysec', extraArgs: args });
    const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
    cleanups.push(() => {
      client.disconnect();
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    return client;
  }

  it('reports appendfsync no as unsafe (a machine crash loses what the OS had not flushed)', async () => {
    const report = await checkRedisSafety(await rawRedis(['--appendfsync', 'no']));
    expect(report.unsafe).toBe(true);
    expect(report.findings).toEqual([
      { setting: 'maxmemory-policy', value: 'noeviction', verdict: 'safe' },
      { setting: 'appendonly', value: 'yes', verdict: 'safe' },
      { setting: 'appendfsync', value: 'no', verdict: 'unsafe', message: expect.stringContaining('set appendfsync everysec or always') },
    ]);
  });

  it('says "could not tell" where CONFIG is disabled (as on managed Redis) and still reads what INFO shows', async () => {
    const report = await checkRedisSafety(await rawRedis(['--rename-command', 'CONFIG', '""']));
    expect(report.unsafe).toBe(false);
    expect(report.findings).toEqual([
      { setting: 'maxmemory-policy', value: 'noeviction', verdict: 'safe' },
      { setting: 'appendonly', value: 'yes', verdict: 'safe' },
      { setting: 'appendfsync', value: undefined, verdict: 'unknown', message: expect.stringContaining('could not tell Redis appendfsync') },
    ]);
    expect(report.warnings).toHaveLength(1);
  });
});
