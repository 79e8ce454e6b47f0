import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRole, type PoolSpec } from '@taskyard/roles';
import { RolePools } from './role-pools';

interface Connection {
  n: number;
  healthy: boolean;
}

/** A pool of numbered connections that records what it made and destroyed. */
function connections(overrides: Partial<PoolSpec<Connection>> = {}) {
  const made: number[] = [];
  const destroyed: number[] = [];
  const spec: PoolSpec<Connection> = {
    create: async () => {
      made.push(made.length + 1);
      return { n: made.length, healthy: true };
    },
    destroy: (connection) => {
      destroyed.push(connection.n);
    },
    validate: (connection) => connection.healthy,
    max: 1,
    acquireTimeoutMs: 200,
    ...overrides,
  };
  const role = defineRole({ name: 'pooled', description: 'd', input: z.unknown(), pools: { db: spec }, handler: async () => undefined });
  const registry = new Registry();
  return { pools: new RolePools([role], registry, pino({ level: 'silent' })), made, destroyed, registry };
}

const gauge = async (registry: Registry, state: string) =>
  Number(new RegExp(`taskyard_pool_resources\\{role="pooled",pool="db",state="${state}"\\} (\\d+)`).exec(await registry.metrics())?.[1]);

describe('role pools', () => {
  it('lends one resource at a time and takes it back, also when the borrower throws', async () => {
    const { pools, made, registry } = connections();
    expect(await pools.use('pooled', 'db', (connection: Connection) => connection.n)).toBe(1);
    await expect(pools.use('pooled', 'db', () => Promise.reject(new Error('query failed')))).rejects.toThrow('query failed');
    expect(await pools.use('pooled', 'db', (connection: Connection) => connection.n)).toBe(1);
    expect(made).toEqual([1]);
    expect({ borrowed: await gauge(registry, 'borrowed'), available: await gauge(registry, 'available') }).toEqual({ borrowed: 0, available: 1 });
    await pools.drain();
  });

  it('makes a borrower wait for a busy resource, and fails it with a transient POOL_TIMEOUT past the wait', async () => {
    const { pools, registry } = connections();
    let release!: () => void;
    const held = pools.use('pooled', 'db', () => new Promise<void>((resolve) => (release = resolve)));
    const waiting = pools.use('pooled', 'db', (connection: Connection) => connection.n);
    await expect(waiting).rejects.toMatchObject({ code: 'POOL_TIMEOUT', errorClass: 'transient' });
    expect(await registry.metrics()).toMatch(/taskyard_pool_timeouts_total\{role="pooled",pool="db"\} 1/);
    // A borrower that comes while it is held but before the wait ends gets it.
    const next = pools.use('pooled', 'db', (connection: Connection) => connection.n);
    release();
    await held;
    expect(await next).toBe(1);
    await pools.drain();
  });

  it('replaces a resource that fails validation', async () => {
    const { pools, made, destroyed } = connections();
    await pools.use('pooled', 'db', (connection: Connection) => {
      connection.healthy = false;
    });
    expect(await pools.use('pooled', 'db', (connection: Connection) => connection.n)).toBe(2);
    expect({ made, destroyed }).toEqual({ made: [1, 2], destroyed: [1] });
    await pools.drain();
  });

  it('drains on shutdown: waits for borrowed resources, then destroys every one', async () => {
    const { pools, made, destroyed } = connections({ max: 2, min: 2 });
    const order: string[] = [];
    let borrowed!: () => void;
    const started = new Promise<void>((resolve) => (borrowed = resolve));
    const held = pools.use('pooled', 'db', () => {
      borrowed();
      // Handed back a little later: a drain that did not wait would be over by then (there is no
      // event for "the drain is waiting", so the borrower keeps its resource for a while).
      return new Promise<void>((resolve) => setTimeout(resolve, 100));
    });
    await started;
    await Promise.all([held.then(() => order.push('returned')), pools.drain().then(() => order.push('drained'))]);
    expect(order).toEqual(['returned', 'drained']);
    expect(made).toHaveLength(2);
    expect([...destroyed].sort()).toEqual([1, 2]);
  });

  it('replaces a resource whose validate throws, instead of failing the process', async () => {
    const { pools, made, destroyed } = connections({
      validate: (connection) => {
        if (connection.n === 1) throw new Error('ping failed');
        return true;
      },
    });
    expect(await pools.use('pooled', 'db', (connection: Connection) => connection.n)).toBe(2);
    expect({ made, destroyed }).toEqual({ made: [1, 2], destroyed: [1] });
    await pools.drain();
  });

  it('names the create failure in the POOL_TIMEOUT of a pool that cannot make resources (and does not spin)', async () => {
    let tries = 0;
    const { pools } = connections({
      create: async () => {
        tries += 1;
        throw new Error('no DATABASE_URL');
      },
      acquireTimeoutMs: 600,
    });
    await expect(pools.use('pooled', 'db', () => 1)).rejects.toMatchObject({ code: 'POOL_TIMEOUT', message: expect.stringContaining('no DATABASE_URL') });
    // Each failed create waits before the next: a handful of tries in 600 ms, not a loop that starves the timer.
    expect(tries).toBeGreaterThan(0);
    expect(tries).toBeLessThan(10);
    await pools.drain(100);
  });

  it('bounds the drain: a resource still borrowed after the bound is left, the idle ones destroyed', async () => {
    const { pools, made, destroyed } = connections({ max: 2, min: 2 });
    let borrowed!: () => void;
    const started = new Promise<void>((resolve) => (borrowed = resolve));
    void pools.use('pooled', 'db', () => (borrowed(), new Promise<never>(() => undefined)));
    await started;
    await pools.drain(200);
    expect(made).toHaveLength(2);
    expect(destroyed).toHaveLength(1);
  });

  it('fails a borrow from a pool the role does not declare permanently', async () => {
    const { pools } = connections();
    await expect(pools.use('pooled', 'cache', () => 1)).rejects.toMatchObject({ code: 'UNKNOWN_POOL', errorClass: 'permanent' });
    await pools.drain();
  });
});
