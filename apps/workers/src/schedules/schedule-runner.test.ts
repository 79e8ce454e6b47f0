import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { z } from 'zod';
import type { ScheduleRecord } from '@taskyard/contracts';
import { derivedTaskId, MessageSigner } from '@taskyard/crypto';
import { Dispatcher } from '@taskyard/dispatch';
import { createLogger } from '@taskyard/observability';
import { defineRole, RoleRegistry } from '@taskyard/roles';
import { RoleQueues, ScheduleStore, TaskStore, TaskyardKeys } from '@taskyard/store';
import { ScheduleRunner } from './schedule-runner';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const keys = new TaskyardKeys(prefix);
const tick = defineRole({ name: 'tick', description: 'd', input: z.object({ n: z.number().int() }).strict(), handler: async () => undefined });
const registry = new RoleRegistry([tick]);
const queues = new RoleQueues(redis, keys, registry.names());
const ops = { id: 'ops', secretSha256: '0'.repeat(64), scopes: ['admin' as const], tenant: undefined, expiresAt: undefined };
const acmeOps = { ...ops, id: 'acme-ops', scopes: ['schedules:manage' as const, 'tasks:submit' as const], tenant: 'acme' };
const config = {
  retention: { ageSeconds: 600, count: 1000 },
  workflow: { maxNodes: 10, maxDepth: 3 },
  worker: { lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
  apiKeys: [ops, acmeOps],
  envApiKeys: [ops, acmeOps],
  apiKeysFile: undefined,
};
const dispatcher = new Dispatcher({ registry, store: new TaskStore(redis, keys, queues, { windowMsOf: () => 600_000, maxEntries: 10_000 }), signer: new MessageSigner([{ id: 'k', secret: 'a-signing-secret-of-some-length' }]), config });
const store = new ScheduleStore(redis, keys);
const metrics = new Registry();
const runner = new ScheduleRunner({ redis, keys, store, dispatcher, config, logger: createLogger({ name: 'test', level: 'silent' }), registry: metrics, workerName: 'test' });

afterAll(async () => {
  await runner.close();
  await Promise.all([store.close(), queues.close()]);
  const found = await redis.keys(`${prefix}{*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

const now = new Date().toISOString();

const record = (id: string, extra: Partial<ScheduleRecord>): ScheduleRecord => ({ id, role: 'tick', payload: { n: 1 }, every: 1000, owner: 'ops', createdAt: now, updatedAt: now, ...extra });
const runsOf = async (internalId: string) => (await store.view(internalId))?.lastRuns ?? [];
/** The schedule's runs (newest first) once it has at least `count`. */
const runsOnce = (internalId: string, count: number) =>
  vi.waitFor(
    async () => {
      const found = await runsOf(internalId);
      if (found.length < count) throw new Error(`fewer than ${count} runs yet`);
      return found;
    },
    { timeout: 20_000, interval: 50 },
  );
const counted = async (outcome: string) => (await metrics.getSingleMetric('taskyard_schedule_runs_total')!.get()).values.find((value) => value.labels['outcome'] === outcome)?.value ?? 0;

describe('ScheduleRunner', () => {
  it('makes one task per slot: a slot taken again (its task and run exist) adds no task and records no second run', async () => {
    await runner.start();
    const slot = Math.ceil((Date.now() + 1500) / 1000) * 1000;
    const internalId = ScheduleStore.internalId(undefined, 'once');
    await store.upsert(internalId, record('once', { startAt: new Date(slot).toISOString() }));
    // What an earlier take of slot `slot` left: its task queued and its run recorded.
    const [earlier] = dispatcher.prepare({ kind: 'schedule', scheduleId: 'once', owner: 'ops', tenant: undefined, scheduledFor: slot }, [
      { role: 'tick', payload: { n: 1 }, id: derivedTaskId('tick', `schedule:${internalId}@${slot}`) },
    ]);
    await dispatcher.enqueue([earlier!]);
    expect(await store.recordRun(internalId, { scheduledFor: new Date(slot).toISOString(), firedAt: now, taskId: earlier!.message.id })).toBe(true);
    const runs = await runsOnce(internalId, 2);
    expect(await counted('duplicate')).toBe(1);
    // Newest first: the one run of `slot` last, the next slot's before it, each once.
    const slots = runs.map((run) => Date.parse(run.scheduledFor));
    expect(slots.slice(-2)).toEqual([slot + 1000, slot]);
    expect(new Set(slots).size).toBe(slots.length);
    const ids = (await queues.get('tick').getJobs(['waiting', 'active', 'completed'])).map((job) => job.id);
    expect(ids.filter((id) => id === earlier!.message.id)).toHaveLength(1);
    const task = await queues.get('tick').getJob(runs[0]!.taskId!);
    expect(task?.data.metadata).toMatchObject({ source: 'schedule:once', owner: 'ops', labels: { schedule: 'once', 'scheduled-for': runs[0]!.scheduledFor } });
    await store.remove(internalId);
  });

  it("records a run the role refuses (its schema changed since the upsert) with its error, and tries it no more", async () => {
    const internalId = ScheduleStore.internalId('acme', 'stale');
    await store.upsert(internalId, record('stale', { tenant: 'acme', owner: 'acme-ops', payload: { n: 'no longer a number' } }));
    const [run] = await runsOnce(internalId, 1);
    expect(run).toMatchObject({ error: { code: 'SEND_INVALID', message: expect.stringContaining('does not match role "tick"') } });
    expect(run!.taskId).toBeUndefined();
    expect(await counted('refused')).toBeGreaterThanOrEqual(1);
    await store.remove(internalId);
  });

  it('makes no task for a schedule whose owner key is gone or lost the scope for it: the run is recorded as refused', async () => {
    const cases: [string, Partial<ScheduleRecord>, string][] = [
      ['orphan', { owner: 'revoked-key' }, 'was revoked'],
      ['other-tenant', { owner: 'acme-ops', tenant: 'globex' }, 'another tenant'],
    ];
    for (const [id, extra, reason] of cases) {
      const internalId = ScheduleStore.internalId(extra.tenant, id);
      await store.upsert(internalId, record(id, extra));
      const [run] = await runsOnce(internalId, 1);
      expect(run).toMatchObject({ error: { code: 'SCHEDULE_OWNER_REVOKED', message: expect.stringContaining(reason) } });
      expect(run!.taskId).toBeUndefined();
      await store.remove(internalId);
    }
  });
});
