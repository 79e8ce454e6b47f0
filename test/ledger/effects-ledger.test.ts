import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@taskyard/config';
import { newTaskId } from '@taskyard/contracts';
import { echoRole } from '@taskyard/example-roles';
import { createLogger } from '@taskyard/observability';
import { ledgerTimings, MessageRecords, TaskyardKeys } from '@taskyard/store';
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
  const records = new MessageRecords(redis, keys);
  return { redis, records, ledger: new EffectsLedger(records, config, logger), sent, lines };
}

afterAll(async () => {
  for (const redis of connections) redis.disconnect();
  await deletePrefix(config.redisUrl, config.queuePrefix);
});

describe('the effects ledger', () => {
  it('writes the records of one event-loop turn in one command, each with its result and the retry window as TTL', async () => {
    const { redis, records, ledger, sent } = ledgerWithTrail();
    // The first batch loads the script (EVALSHA, then EVAL when Redis lacks it); count from the next.
    const warmUp = [newTaskId('echo'), newTaskId('echo')];
    for (const id of warmUp) ledger.recordDone(echoRole, job, id, null);
    await waitFor('the warm-up records', async () => (await redis.exists(keys.message(warmUp[1]!))) === 1);
    sent.length = 0;

    const ids = [newTaskId('echo'), newTaskId('echo'), newTaskId('echo')];
    for (const id of ids) ledger.recordDone(echoRole, job, id, { echoed: id });
    await waitFor('the records', async () => (await redis.exists(keys.message(ids[2]!))) === 1);
    expect(sent.filter((name) => name !== 'exists')).toEqual(['evalsha']);
    for (const id of ids) {
      expect(await records.read(id)).toMatchObject({ status: 'done', result: { echoed: id } });
      const pttl = await redis.pttl(keys.message(id));
      expect(pttl).toBeGreaterThan(ttlMs - 60_000);
      expect(pttl).toBeLessThanOrEqual(ttlMs);
    }

    // A turn with a single record costs a plain SET, not a script around one.
    sent.length = 0;
    const alone = newTaskId('echo');
    ledger.recordDone(echoRole, job, alone, 'only');
    await waitFor('the lone record', async () => (await redis.exists(keys.message(alone))) === 1);
    expect(sent.filter((name) => name !== 'exists')).toEqual(['set']);
    expect(await records.read(alone)).toMatchObject({ status: 'done', result: 'only' });
  });

  it('logs a refused write once per batch, naming its tasks, and throws nothing at the handler', async () => {
    const { redis, ledger, lines } = ledgerWithTrail({ enableOfflineQueue: false });
    await waitFor('the connection', async () => redis.status === 'ready');
    redis.disconnect();
    const lost = [newTaskId('echo'), newTaskId('echo')];
    expect(() => {
      ledger.recordDone(echoRole, job, lost[0]!, 1);
      ledger.recordDone(echoRole, job, lost[1]!, 2);
    }).not.toThrow();
    await waitFor('the warning', async () => lines.length > 0);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'could not record completed messages in the ledger', taskIds: lost })]);
  });
});
