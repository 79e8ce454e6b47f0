import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentTaskError, TransientTaskError } from '@taskyard/contracts';
import { defineRole, defineTopic } from '@taskyard/roles';
import { runRole } from './run-role';

const shipped = defineTopic({ name: 'order.shipped', payload: z.object({ orderId: z.string() }) });
const notify = defineRole({ name: 'notify', description: 'd', input: z.object({ orderId: z.string() }), topics: [shipped], handler: async () => undefined });
const billing = defineRole({ name: 'billing', description: 'd', input: z.object({ amount: z.number().positive() }), acceptFrom: ['role:checkout'], handler: async () => undefined });
const checkout = defineRole({
  name: 'checkout',
  description: 'a role that does everything a handler can',
  input: z.object({ orderId: z.string(), amount: z.number(), mode: z.enum(['ok', 'snooze', 'cancel', 'retry', 'bad-send', 'bad-output']).default('ok') }),
  output: z.object({ charged: z.number() }),
  handler: async ({ payload }, ctx) => {
    if (payload.mode === 'snooze') return ctx.snooze(2000, 'bank closed');
    if (payload.mode === 'cancel') return ctx.cancel('customer left');
    if (payload.mode === 'retry') throw new TransientTaskError('bank busy', 'BANK_BUSY', { retryAfterMs: 1500 });
    await ctx.progress(50);
    ctx.log.info({ orderId: payload.orderId }, 'charging');
    const charged = await ctx.once('charge', () => payload.amount);
    await ctx.send(billing, { amount: payload.mode === 'bad-send' ? -1 : charged });
    await ctx.publish(shipped, { orderId: payload.orderId });
    return payload.mode === 'bad-output' ? ({ charged: 'all' } as never) : { charged };
  },
});
const roles = [notify, billing, checkout];

describe('runRole: a role handler run in a unit test, without Redis', () => {
  it('completes with its checked output and records what the handler did', async () => {
    const run = await runRole(checkout, { orderId: 'o-1', amount: 12 }, { roles, metadata: { correlationId: 'order-1' } });
    expect(run).toMatchObject({ outcome: 'completed', result: { charged: 12 }, progress: [50], once: [{ key: 'charge', ran: true, result: 12 }] });
    expect(run.message).toMatchObject({ role: 'checkout', payload: { orderId: 'o-1', amount: 12, mode: 'ok' }, metadata: { correlationId: 'order-1' } });
    expect(run.sent).toEqual([{ id: expect.stringMatching(/^billing_/), role: 'billing', payload: { amount: 12 }, options: {} }]);
    expect(run.published).toEqual([{ topic: 'order.shipped', payload: { orderId: 'o-1' }, options: {}, tasks: [{ id: expect.stringMatching(/^notify_/), role: 'notify' }] }]);
    expect(run.logs).toEqual([expect.objectContaining({ msg: 'charging', orderId: 'o-1', role: 'checkout', taskId: run.message.id, correlationId: 'order-1' })]);
  });

  it('lends a pooled resource made by the pool’s own create, destroyed after the use', async () => {
    const lifecycle: string[] = [];
    const lookup = defineRole({
      name: 'lookup',
      description: 'd',
      input: z.object({ key: z.string() }),
      pools: { db: { create: async () => (lifecycle.push('create'), { get: (key: string) => `value of ${key}` }), destroy: () => void lifecycle.push('destroy'), max: 1, acquireTimeoutMs: 100 } },
      handler: async ({ payload }, ctx) => ctx.use('db', (db: { get: (key: string) => string }) => db.get(payload.key)),
    });
    expect(await runRole(lookup, { key: 'k' })).toMatchObject({ outcome: 'completed', result: 'value of k', used: ['db'] });
    expect(lifecycle).toEqual(['create', 'destroy']);
    const wrong = defineRole({ name: 'wrong', description: 'd', input: z.object({}), handler: async (_message, ctx) => ctx.use('db', () => 1) });
    expect(await runRole(wrong, {})).toMatchObject({ outcome: 'failed', error: { code: 'UNKNOWN_POOL', class: 'permanent' } });
  });

  it('returns an effect that already happened without running it again', async () => {
    const run = await runRole(checkout, { orderId: 'o-2', amount: 5 }, { roles, onceDone: { charge: 3 } });
    expect(run).toMatchObject({ outcome: 'completed', result: { charged: 3 }, once: [{ key: 'charge', ran: false, result: 3 }] });
  });

  it('reports snoozes, cancellations and a transient error that names its retry delay, as the worker would take them', async () => {
    expect(await runRole(checkout, { orderId: 'o', amount: 1, mode: 'snooze' })).toMatchObject({ outcome: 'snoozed', snooze: { delayMs: 2000, reason: 'bank closed' } });
    expect(await runRole(checkout, { orderId: 'o', amount: 1, mode: 'cancel' })).toMatchObject({ outcome: 'cancelled', error: { code: 'CANCELLED', message: expect.stringContaining('customer left') } });
    expect(await runRole(checkout, { orderId: 'o', amount: 1, mode: 'retry' }, { attempt: 2 })).toMatchObject({
      outcome: 'failed',
      error: { code: 'BANK_BUSY', class: 'transient', willRetry: true, retryAfterMs: 1500 },
    });
    expect(await runRole(checkout, { orderId: 'o', amount: 1, mode: 'retry' }, { attempt: 3 })).toMatchObject({ error: { willRetry: false } });
  });

  it('checks what the handler sends as the dispatcher does, and its output and input as the worker does', async () => {
    expect(await runRole(checkout, { orderId: 'o', amount: 1, mode: 'bad-send' }, { roles })).toMatchObject({ outcome: 'failed', error: { code: 'SEND_INVALID', class: 'permanent' } });
    expect(await runRole(checkout, { orderId: 'o', amount: 1, mode: 'bad-output' }, { roles })).toMatchObject({ outcome: 'failed', error: { code: 'SCHEMA_INVALID' } });
    expect(await runRole(checkout, { orderId: 1 } as never)).toMatchObject({ outcome: 'failed', error: { code: 'SCHEMA_INVALID', class: 'permanent' } });
    const intruder = defineRole({
      name: 'intruder',
      description: 'd',
      input: z.object({}),
      handler: async (_message, ctx) => {
        await ctx.send('billing', { amount: 1 });
        throw new PermanentTaskError('unreachable');
      },
    });
    expect(await runRole(intruder, {}, { roles })).toMatchObject({ error: { code: 'SEND_FORBIDDEN' } });
    const lost = defineRole({ name: 'lost', description: 'd', input: z.object({}), handler: async (_message, ctx) => ctx.send('nowhere', {}) });
    expect(await runRole(lost, {}, { roles })).toMatchObject({ error: { code: 'UNKNOWN_ROLE' } });
  });

  it('says so when a role reads ctx.redis without one', async () => {
    const stateful = defineRole({ name: 'stateful', description: 'd', input: z.object({}), handler: async (_message, ctx) => ctx.redis.get('x') });
    expect(await runRole(stateful, {})).toMatchObject({ outcome: 'failed', error: { message: expect.stringContaining('pass runRole a { redis } option') } });
  });
});
