import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, type CancelledRecord } from '@taskyard/contracts';
import { loadConfig } from '@taskyard/config';
import { Cancellations } from '../cancellations';
import { EffectsLedger } from '../effects-ledger';
import { ledgerGate } from './ledger-gate';
import { pipelineFixture } from './pipeline.fixture';

const fixture = pipelineFixture();
afterAll(() => fixture.close());
const config = loadConfig({ API_KEYS: 'a:0123456789abcdef', SIGNING_KEYS: 'k:0123456789abcdef', QUEUE_PREFIX: fixture.prefix }, { knownRoles: ['greet'] });
const ledger = new EffectsLedger(fixture.records, config, fixture.logger);
const cancellations = new Cancellations(fixture.records, fixture.keys, fixture.logger);

/** A delivery of `message` as BullMQ would make it (attemptsMade, stalledCounter set as given). */
async function delivery(message = fixture.message(), fields: { attemptsMade?: number; stalledCounter?: number } = {}) {
  const job = await fixture.job(message);
  Object.assign(job, fields);
  return { attempt: fixture.attempt(job), message };
}

describe('step 3: the ledger gate', () => {
  it('lets a first delivery run without reading the ledger, even when a record exists', async () => {
    const { attempt, message } = await delivery();
    await fixture.records.writeMany([{ taskId: message.id, value: JSON.stringify({ status: 'done', completedAt: 1, result: 'earlier' }), ttlMs: 60_000 }]);
    expect(await ledgerGate(attempt, fixture.role, message, ledger, cancellations)).toEqual({ run: true });
  });

  it('completes a retry or a redelivery of a completed message with its stored result, unrun', async () => {
    for (const fields of [{ attemptsMade: 1 }, { stalledCounter: 1 }]) {
      const { attempt, message } = await delivery(undefined, fields);
      expect(await ledgerGate(attempt, fixture.role, message, ledger, cancellations)).toEqual({ run: true });
      await fixture.records.writeMany([{ taskId: message.id, value: JSON.stringify({ status: 'done', completedAt: 1, result: { greeting: 'stored' } }), ttlMs: 60_000 }]);
      expect(await ledgerGate(attempt, fixture.role, message, ledger, cancellations)).toEqual({ run: false, result: { greeting: 'stored' } });
    }
  });

  it('fails a cancelled message as cancelled, and applies a cancellation that arrived before the attempt', async () => {
    const retried = await delivery(undefined, { attemptsMade: 1 });
    const record: CancelledRecord = { status: 'cancelled', cancelledAt: 1, from: 'delayed', task: { role: 'greet', createdAt: new Date().toISOString(), correlationId: 'c', causationId: null, attempts: 1, maxAttempts: 3, history: [] } };
    await fixture.records.recordCancelled(retried.message.id, record, 60_000);
    await expect(ledgerGate(retried.attempt, fixture.role, retried.message, ledger, cancellations)).rejects.toBeInstanceOf(CancelledError);

    const early = await delivery();
    const worker = { abort: () => false, activeJobIds: () => [] };
    cancellations.register('greet', worker as never);
    cancellations.cancel(early.message.id);
    await expect(ledgerGate(early.attempt, fixture.role, early.message, ledger, cancellations)).rejects.toBeInstanceOf(CancelledError);
  });

  it('always reads the ledger for a role with a breaker (a handed-back job looks like a first delivery)', async () => {
    const breakerRole = { ...fixture.role, breaker: { errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeoutMs: 1000, rollingWindowMs: 1000 } };
    const { attempt, message } = await delivery();
    await fixture.records.writeMany([{ taskId: message.id, value: JSON.stringify({ status: 'done', completedAt: 1, result: 'once' }), ttlMs: 60_000 }]);
    expect(await ledgerGate(attempt, breakerRole, message, ledger, cancellations)).toEqual({ run: false, result: 'once' });
  });
});
