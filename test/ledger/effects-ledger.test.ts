import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, echoRole, ledgerTimings, loadConfig, readMessageRecord, TaskyardKeys } from '@taskyard/shared';
import { EffectsLedger } from '../../apps/workers/src/effects-ledger';
import { waitFor } from '../support/wait-for';
import { deletePrefix, testEnv } from '../support/test-env';

const env = testEnv();
const config = loadConfig(env, { knownRoles: ['echo'] });
const keys = new TaskyardKeys(config.queuePrefix);
const job = { opts: { attempts: 3 } } as Job;
const ttlMs = ledgerTimings(echoRole, 3, config).ttlMs;
const connections: Redis[] = [];

/** A ledger on its own connection, with the commands it sends and the lines it logs. */
function ledgerWithTrail(options: { enableOfflineQueue?: boolean } = {}) {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, ...options });
  connections.push(redis);
  const sent: string[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    sent.push(command.name);
    return send(command, stream);
  };
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ name: 'test', level: 'warn', destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } });
  return { redis, ledger: new EffectsLedger(redis, config, keys, logger), sent, lines };
}

afterAll(async () => {
  for (const redis of connections) redis.disconnect();
  await deletePrefix(config.redisUrl, config.queuePrefix);
});

describe('the effects ledger', () => {
  it('writes the records of one event-loop turn in one command, each with its result and the retry window as TTL', async () => {
    const { redis, ledger, sent } = ledgerWithTrail();
    // The first batch loads the script (EVALSHA, then EVAL when Redis lacks it); count from the next.
    ledger.recordDone(echoRole, job, 'warm-up-1', null);
    ledger.recordDone(echoRole, job, 'warm-up-2', null);
    await waitFor('the warm-up records', async () => (await redis.exists(keys.message('warm-up-2'))) === 1);
    sent.length = 0;

    for (const id of ['m1', 'm2', 'm3']) ledger.recordDone(echoRole, job, id, { echoed: id });
    await waitFor('the records', async () => (await redis.exists(keys.message('m3'))) === 1);
    expect(sent.filter((name) => name !== 'exists')).toEqual(['evalsha']);
    for (const id of ['m1', 'm2', 'm3']) {
      expect(await readMessageRecord(redis, keys, id)).toMatchObject({ status: 'done', result: { echoed: id } });
      const pttl = await redis.pttl(keys.message(id));
      expect(pttl).toBeGreaterThan(ttlMs - 60_000);
      expect(pttl).toBeLessThanOrEqual(ttlMs);
    }

    // A turn with a single record costs a plain SET, not a script around one.
    sent.length = 0;
    ledger.recordDone(echoRole, job, 'alone', 'only');
    await waitFor('the lone record', async () => (await redis.exists(keys.message('alone'))) === 1);
    expect(sent.filter((name) => name !== 'exists')).toEqual(['set']);
    expect(await readMessageRecord(redis, keys, 'alone')).toMatchObject({ status: 'done', result: 'only' });
  });

  it('logs a refused write once per batch, naming its tasks, and throws nothing at the handler', async () => {
    const { redis, ledger, lines } = ledgerWithTrail({ enableOfflineQueue: false });
    await waitFor('the connection', async () => redis.status === 'ready');
    redis.disconnect();
    expect(() => {
      ledger.recordDone(echoRole, job, 'lost-1', 1);
      ledger.recordDone(echoRole, job, 'lost-2', 2);
    }).not.toThrow();
    await waitFor('the warning', async () => lines.length > 0);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'could not record completed messages in the ledger', taskIds: ['lost-1', 'lost-2'] })]);
  });
});
