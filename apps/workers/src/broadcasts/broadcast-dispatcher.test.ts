import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newBroadcastId, type BroadcastContent } from '@taskyard/contracts';
import { createLogger } from '@taskyard/observability';
import { defineRole, type AnyRole } from '@taskyard/roles';
import { BroadcastDispatcher, type BroadcastTarget } from './broadcast-dispatcher';

const logger = createLogger({ name: 'test', level: 'silent' });
const base = { description: 'd', input: z.object({}), handler: async () => undefined };
const cache = defineRole({
  ...base,
  name: 'cache',
  timeoutMs: 200,
  onBroadcast: {
    'cache.flush': { payload: z.object({ prefix: z.string() }), handle: (payload) => ({ flushed: payload.prefix }) },
    'cache.hang': { handle: (_payload, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('aborted'))) },
    'cache.big': { handle: () => 'x'.repeat(20_000) },
  },
});
const mirror = defineRole({ ...base, name: 'mirror', onBroadcast: { 'cache.flush': { handle: () => { throw new Error('mirror is read-only'); } } } });
// Handles the type too, but the processes here do not run it.
const _other = defineRole({ ...base, name: 'other', onBroadcast: { 'cache.flush': { handle: () => 'never here' } } });

/** A worker process running `roles`, recording what broadcasts made it do. */
function target(roles: AnyRole[], active: Record<string, number> = {}) {
  const did: string[] = [];
  const self: BroadcastTarget = {
    workerId: 'w1',
    roles,
    active: (role) => (role === undefined ? Object.values(active).reduce((a, b) => a + b, 0) : (active[role] ?? 0)),
    refreshLogLevels: async () => void did.push('refreshed'),
    levelOf: (role) => (role === 'cache' ? 'trace' : 'debug'),
    roleLogger: () => logger,
    drain: () => void did.push('drain'),
  };
  return { self, did };
}
const content = (type: string, payload: unknown): BroadcastContent => ({ id: newBroadcastId(), type, payload, createdAt: new Date().toISOString(), expected: ['w1'] });

describe('BroadcastDispatcher', () => {
  it('answers pause-role and resume-role with the tasks of the role still running here (0 for a role not run here)', async () => {
    const { self } = target([cache], { cache: 3, other: 1 });
    const dispatcher = new BroadcastDispatcher(self, logger);
    expect(await dispatcher.dispatch(content('pause-role', { role: 'cache' }))).toEqual({ ack: { result: { active: 3 } } });
    expect(await dispatcher.dispatch(content('resume-role', { role: 'echo' }))).toEqual({ ack: { result: { active: 0 } } });
  });

  it('puts the stored log levels in force for set-log-level and answers the level now in force', async () => {
    const { self, did } = target([cache]);
    const dispatcher = new BroadcastDispatcher(self, logger);
    expect(await dispatcher.dispatch(content('set-log-level', { level: 'trace', role: 'cache' }))).toEqual({ ack: { result: { level: 'trace' } } });
    expect(await dispatcher.dispatch(content('set-log-level', { level: 'debug' }))).toEqual({ ack: { result: { level: 'debug' } } });
    expect(did).toEqual(['refreshed', 'refreshed']);
  });

  it('drains only after the acknowledgement is recorded', async () => {
    const { self, did } = target([cache], { cache: 2 });
    const outcome = await new BroadcastDispatcher(self, logger).dispatch(content('drain', {}));
    expect(outcome.ack).toEqual({ result: { active: 2 } });
    expect(did).toEqual([]);
    outcome.afterAck!();
    expect(did).toEqual(['drain']);
  });

  it('runs a role’s own type in each role of this process that handles it, results by role, a failure named by its role', async () => {
    const { self } = target([cache, mirror]);
    const outcome = await new BroadcastDispatcher(self, logger).dispatch(content('cache.flush', { prefix: 'p:' }));
    expect(outcome).toEqual({ ack: { result: { cache: { flushed: 'p:' } }, error: { code: 'BROADCAST_HANDLER_FAILED', message: 'mirror is read-only', role: 'mirror' } } });
    expect(JSON.stringify(outcome)).not.toContain('never here');
  });

  it('checks the payload against the role’s schema again (Redis is a trust boundary)', async () => {
    const { self } = target([cache]);
    const outcome = await new BroadcastDispatcher(self, logger).dispatch(content('cache.flush', { prefix: 7 }));
    expect(outcome.ack.error).toMatchObject({ code: 'BROADCAST_HANDLER_FAILED', role: 'cache', message: expect.stringContaining('payload does not match') });
  });

  it('ends a handler at the role’s timeout (its signal fires) and bounds the result', async () => {
    const { self } = target([cache]);
    const dispatcher = new BroadcastDispatcher(self, logger);
    const started = Date.now();
    expect((await dispatcher.dispatch(content('cache.hang', null))).ack.error).toMatchObject({ code: 'TIMEOUT', role: 'cache' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await dispatcher.dispatch(content('cache.big', null))).ack).toEqual({ error: { code: 'RESULT_TOO_LARGE', message: expect.stringContaining('16384') } });
  });
});
