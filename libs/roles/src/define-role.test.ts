import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRole } from './define-role';
import { effectiveRoles } from './effective-roles';
import { RoleRegistry } from './role-registry';

const handler = async () => ({});

describe('defineRole', () => {
  it('fills in default settings', () => {
    const role = defineRole({ name: 'greet', description: 'd', input: z.object({}), handler });
    expect(role).toMatchObject({ name: 'greet', concurrency: 10, attempts: 3, timeoutMs: 30_000 });
    expect(role.backoff).toEqual({ type: 'exponential', delayMs: 1000, jitter: 0.2 });
  });

  it('throws at definition, naming the role and the setting, for bad settings or names', () => {
    expect(() => defineRole({ name: 'greet', description: 'd', input: z.object({}), handler, concurrency: 0 })).toThrow(
      /role "greet" has invalid settings: concurrency/,
    );
    expect(() => defineRole({ name: 'Bad:Name', description: 'd', input: z.object({}), handler })).toThrow(/role "Bad:Name"/);
  });

  it('checks a role’s pools at definition: names, bounds, functions; none for an isolated role', () => {
    const pool = { create: async () => ({}), max: 2, acquireTimeoutMs: 1000 };
    expect(defineRole({ name: 'db', description: 'd', input: z.object({}), handler, pools: { main: pool } }).pools).toEqual({ main: pool });
    expect(() => defineRole({ name: 'db', description: 'd', input: z.object({}), handler, pools: { main: { ...pool, min: 3 }, Bad: pool } })).toThrow(
      /role "db" has invalid settings: pools\.main\.min: min must not exceed max; pools\.Bad: a pool name/,
    );
    expect(() => defineRole({ name: 'db', description: 'd', input: z.object({}), handler, pools: { main: { ...pool, max: 0, acquireTimeoutMs: 0 } } })).toThrow(/pools\.main\.max: .*pools\.main\.acquireTimeoutMs/);
    expect(() => defineRole({ name: 'db', description: 'd', input: z.object({}), handler, pools: { main: { ...pool, create: 'nope' as never } } })).toThrow(/pools\.main\.create/);
    expect(() => defineRole({ name: 'db', description: 'd', input: z.object({}), handler, isolated: true, pools: { main: pool } })).toThrow(/an isolated role cannot declare pools/);
  });

  it('registers each name once and applies deployment settings with validation', () => {
    const a = defineRole({ name: 'a', description: 'd', input: z.object({}), handler });
    expect(() => new RoleRegistry([a, a])).toThrow(/registered twice/);
    const registry = new RoleRegistry([a]);
    const limits = { maxAttempts: a.maxAttempts, maxDelayMs: a.maxDelayMs, sensitive: a.sensitive };
    expect(registry.withSettings(({ attempts, backoff, timeoutMs, isolated }) => ({ attempts, backoff, timeoutMs, isolated, ...limits, concurrency: 99 })).get('a')?.concurrency).toBe(99);
    expect(() => registry.withSettings(({ concurrency, backoff, timeoutMs, isolated }) => ({ concurrency, backoff, timeoutMs, isolated, ...limits, attempts: 0 }))).toThrow(/role "a" has invalid settings: attempts/);
    expect(registry.get('a')?.concurrency).toBe(10);
  });
});

describe('defineRole with batch', () => {
  it('takes handleBatch with batch, runs a batch of one as its handler, and refuses what cannot work', async () => {
    const batched = defineRole({ name: 'b', description: 'd', input: z.unknown(), batch: { size: 5, maxWaitMs: 10 }, handleBatch: async (batch) => batch.map(({ message }) => ({ got: message.payload })) });
    expect(batched.batch).toEqual({ size: 5, maxWaitMs: 10 });
    expect(await batched.handler({ payload: 7 } as never, {} as never)).toEqual({ got: 7 });
    const spec = { name: 'b', description: 'd', input: z.unknown(), handleBatch: async () => [] };
    expect(() => defineRole({ ...spec, batch: { size: 0, maxWaitMs: 10 } })).toThrow(/batch.size/);
    expect(() => defineRole({ ...spec, batch: { size: 5, maxWaitMs: 120_000 } })).toThrow(/batch.maxWaitMs/);
    expect(() => defineRole({ ...spec, batch: { size: 5, maxWaitMs: 1000 }, timeoutMs: 1000 })).toThrow(/below timeoutMs/);
    expect(() => defineRole({ ...spec, batch: { size: 5, maxWaitMs: 10 }, isolated: true })).toThrow(/isolated role cannot take batches/);
    expect(() => defineRole({ ...spec } as never)).toThrow(/handleBatch and batch go together/);
  });
});

describe('defineRole with fair', () => {
  const spec = { name: 'f', description: 'd', input: z.unknown(), handler };

  it('takes true or limits per tenant; false or nothing is a role without turns', () => {
    expect(defineRole({ ...spec, fair: true }).fair).toEqual({});
    expect(defineRole({ ...spec, fair: { tenantConcurrency: 2, tenantRate: { max: 10, durationMs: 1000 } } }).fair).toEqual({ tenantConcurrency: 2, tenantRate: { max: 10, durationMs: 1000 } });
    expect(defineRole({ ...spec, fair: false }).fair).toBeUndefined();
    expect(defineRole(spec).fair).toBeUndefined();
  });

  it('refuses limits out of bounds or unknown, naming them', () => {
    expect(() => defineRole({ ...spec, fair: { tenantConcurrency: 0 } })).toThrow(/role "f" has invalid settings: fair\.tenantConcurrency/);
    expect(() => defineRole({ ...spec, fair: { tenantRate: { max: 10, durationMs: 0 } } })).toThrow(/fair\.tenantRate\.durationMs/);
    expect(() => defineRole({ ...spec, fair: { tenantConcurrency: 1.5 } })).toThrow(/fair\.tenantConcurrency/);
    expect(() => defineRole({ ...spec, fair: { perTenant: 2 } as never })).toThrow(/fair: .*perTenant/);
  });

  it('tunes a fair role’s limits per deployment (ROLE_<ROLE>_TENANT_*), and makes no other role fair', () => {
    const registry = new RoleRegistry([defineRole({ ...spec, fair: { tenantConcurrency: 2 } }), defineRole({ ...spec, name: 'g' })]);
    const overrides = { f: { tenantConcurrency: 5, tenantRateMax: 20 }, g: { tenantConcurrency: 5 } };
    const effective = effectiveRoles({ roleOverrides: overrides, messageTimeoutMs: 30_000 }, registry);
    expect(effective.get('f')?.fair).toEqual({ tenantConcurrency: 5, tenantRate: { max: 20, durationMs: 1000 } });
    expect(effective.get('g')?.fair).toBeUndefined();
    expect(effectiveRoles({ roleOverrides: {}, messageTimeoutMs: 30_000 }, registry).get('f')?.fair).toEqual({ tenantConcurrency: 2 });
  });
});
