import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { MAX_BROADCAST_PAYLOAD_BYTES } from '@taskyard/contracts';
import { checkBroadcast } from './broadcasts';
import { defineRole } from './define-role';

const cache = defineRole({
  name: 'cache',
  description: 'keeps a cache',
  input: z.object({}),
  handler: async () => undefined,
  onBroadcast: {
    'cache.flush': {
      payload: z.object({ prefix: z.string().min(1) }).strict(),
      handle: (payload) => {
        // The handler's payload is typed by its own schema.
        expectTypeOf(payload).toEqualTypeOf<{ prefix: string }>();
        // @ts-expect-error: not a member of the schema
        void payload.other;
        return { flushed: payload.prefix };
      },
    },
    'cache.stats': { handle: () => ({ entries: 0 }) },
  },
});
const mirror = defineRole({
  name: 'mirror',
  description: 'another cache',
  input: z.object({}),
  handler: async () => undefined,
  onBroadcast: { 'cache.flush': { payload: z.object({ prefix: z.string().max(3) }), handle: () => 'ok' } },
});
const plain = defineRole({ name: 'echo', description: 'e', input: z.object({}), handler: async () => undefined });
const roles = [cache, mirror, plain];

describe('a role’s broadcast handlers (onBroadcast)', () => {
  it('are kept, frozen, on the definition; a role without any has none', () => {
    expect(Object.keys(cache.onBroadcast)).toEqual(['cache.flush', 'cache.stats']);
    expect(Object.isFrozen(cache.onBroadcast)).toBe(true);
    expect(plain.onBroadcast).toEqual({});
  });

  it('may not take a built-in type, a malformed type, or a handler without handle', () => {
    const base = { description: 'd', input: z.object({}), handler: async () => undefined };
    expect(() => defineRole({ ...base, name: 'bad', onBroadcast: { drain: { handle: () => 1 } } })).toThrow(/onBroadcast\.drain: a built-in broadcast type/);
    expect(() => defineRole({ ...base, name: 'bad', onBroadcast: { 'Not_A_Type': { handle: () => 1 } } })).toThrow(/onBroadcast\.Not_A_Type: a broadcast type is/);
    expect(() => defineRole({ ...base, name: 'bad', onBroadcast: { 'x.y': {} as never } })).toThrow(/onBroadcast\.x\.y: needs a handle function/);
  });
});

describe('checkBroadcast (what the API accepts)', () => {
  it('parses a built-in type’s payload and knows the roles it names', () => {
    expect(checkBroadcast(roles, 'pause-role', { role: 'echo' })).toEqual({ ok: true, kind: 'built-in', type: 'pause-role', payload: { role: 'echo' } });
    expect(checkBroadcast(roles, 'drain', undefined)).toMatchObject({ ok: true, payload: {} });
    expect(checkBroadcast(roles, 'set-log-level', { level: 'debug' })).toMatchObject({ ok: true, payload: { level: 'debug' } });
    expect(checkBroadcast(roles, 'pause-role', { role: 'nobody' })).toMatchObject({ ok: false, code: 'VALIDATION_FAILED', issues: [{ field: 'payload.role', message: 'no role "nobody" in this deployment' }] });
    expect(checkBroadcast(roles, 'set-log-level', { level: 'loud' })).toMatchObject({ ok: false, code: 'VALIDATION_FAILED', issues: [{ field: 'payload.level' }] });
    expect(checkBroadcast(roles, 'resume-role', { role: 'echo', extra: 1 })).toMatchObject({ ok: false, code: 'VALIDATION_FAILED' });
  });

  it('checks a custom type against every role that handles it, and refuses a type nobody handles', () => {
    expect(checkBroadcast(roles, 'cache.flush', { prefix: 'ab' })).toEqual({ ok: true, kind: 'custom', type: 'cache.flush', payload: { prefix: 'ab' }, roles: ['cache', 'mirror'] });
    // cache accepts it, mirror's schema does not: refused, naming the role.
    const refused = checkBroadcast(roles, 'cache.flush', { prefix: 'abcdef' });
    expect(refused).toMatchObject({ ok: false, code: 'VALIDATION_FAILED', issues: [{ field: 'payload.prefix' }] });
    expect(refused.ok ? '' : refused.message).toContain('role mirror');
    expect(checkBroadcast(roles, 'cache.stats', undefined)).toMatchObject({ ok: true, roles: ['cache'], payload: null });
    expect(checkBroadcast(roles, 'cache.unknown', {})).toMatchObject({ ok: false, code: 'UNKNOWN_BROADCAST_TYPE' });
  });

  it('bounds the payload', () => {
    const big = { prefix: 'x'.repeat(MAX_BROADCAST_PAYLOAD_BYTES) };
    expect(checkBroadcast(roles, 'cache.stats', big)).toMatchObject({ ok: false, code: 'VALIDATION_FAILED', issues: [{ field: 'payload' }] });
    let deep: unknown = 1;
    for (let at = 0; at < 100; at++) deep = [deep];
    expect(checkBroadcast(roles, 'cache.stats', deep)).toMatchObject({ ok: false, issues: [{ field: 'payload' }] });
  });
});
