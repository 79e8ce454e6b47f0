import { setTimeout as sleep } from 'node:timers/promises';
import { createPool, type Pool } from 'generic-pool';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { PermanentTaskError, TransientTaskError } from '@taskyard/contracts';
import { METRIC, type Logger } from '@taskyard/observability';
import type { AnyPoolSpec, AnyRole } from '@taskyard/roles';

/**
 * The pools of the roles this process runs (generic-pool), one per role and pool name: `min`
 * resources made at start, at most `max`, each borrower served one at a time. `use` borrows for
 * the length of a function and gives the resource back after, also when the function throws; a
 * borrower that waits past `acquireTimeoutMs` fails its attempt with a transient POOL_TIMEOUT (the
 * role's backoff then applies). `validate` runs before each borrow and a resource that fails it
 * is destroyed and replaced. `drain` (at shutdown, once the workers are done) waits for borrowed
 * resources to come back and destroys every resource.
 */
/** How long a failed create waits before it lets the pool try again (generic-pool retries at once: a create failing without I/O would spin). */
const CREATE_RETRY_DELAY_MS = 250;
/** How long a shutdown waits for borrowed resources (a handler past its timeout may still hold one) before it destroys what is idle and goes on. */
export const POOL_DRAIN_TIMEOUT_MS = 10_000;

interface Entry {
  pool: Pool<unknown>;
  spec: AnyPoolSpec;
  /** The last create failure, named in a POOL_TIMEOUT so a borrower learns why there was no resource. */
  lastCreateError: Error | undefined;
}

export class RolePools {
  private readonly pools = new Map<string, Map<string, Entry>>();
  private readonly waits: Histogram<'role' | 'pool'>;
  private readonly timeouts: Counter<'role' | 'pool'>;

  constructor(roles: readonly AnyRole[], registry: Registry, private readonly logger: Logger) {
    for (const role of roles) {
      const byName = new Map<string, Entry>();
      for (const [name, spec] of Object.entries(role.pools)) {
        const entry: Entry = { pool: undefined as never, spec, lastCreateError: undefined };
        entry.pool = this.create(role.name, name, entry);
        byName.set(name, entry);
      }
      if (byName.size > 0) this.pools.set(role.name, byName);
    }
    const pools = this.pools;
    new Gauge({
      name: METRIC.poolResources,
      help: 'Resources of each role pool by state: borrowed, available (idle), pending (borrowers waiting)',
      labelNames: ['role', 'pool', 'state'],
      registers: [registry],
      collect() {
        for (const [role, byName] of pools) {
          for (const [pool, { pool: instance }] of byName) {
            this.labels(role, pool, 'borrowed').set(instance.borrowed);
            this.labels(role, pool, 'available').set(instance.available);
            this.labels(role, pool, 'pending').set(instance.pending);
          }
        }
      },
    });
    this.waits = new Histogram({
      name: METRIC.poolWait,
      help: 'How long a borrower waited for a pooled resource, by role and pool',
      labelNames: ['role', 'pool'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    });
    this.timeouts = new Counter({
      name: METRIC.poolTimeouts,
      help: 'Borrowers that gave up waiting for a pooled resource (POOL_TIMEOUT), by role and pool',
      labelNames: ['role', 'pool'],
      registers: [registry],
    });
  }

  /** Runs `fn` with a resource of `role`'s pool `name`. */
  async use<T, R>(role: string, name: string, fn: (resource: T) => R | Promise<R>): Promise<R> {
    const entry = this.pools.get(role)?.get(name);
    if (!entry) throw new PermanentTaskError(`role "${role}" declares no pool "${name}"`, 'UNKNOWN_POOL');
    const pool = entry.pool as Pool<T>;
    const waited = this.waits.labels(role, name).startTimer();
    let resource: T;
    try {
      resource = await pool.acquire();
    } catch (err) {
      if ((err as Error).name !== 'TimeoutError') throw err;
      this.timeouts.labels(role, name).inc();
      const why = entry.lastCreateError ? `; the last attempt to create one failed: ${entry.lastCreateError.message}` : '';
      throw new TransientTaskError(`pool "${name}" of role "${role}" had no free resource within ${entry.spec.acquireTimeoutMs} ms (${pool.borrowed} borrowed, max ${pool.max})${why}`, 'POOL_TIMEOUT', { cause: entry.lastCreateError ?? err });
    } finally {
      waited();
    }
    try {
      return await fn(resource);
    } finally {
      await pool.release(resource).catch((err: unknown) => this.logger.warn({ err, role, pool: name }, 'could not return a resource to its pool'));
    }
  }

  /**
   * Waits for borrowed resources to come back (at most `timeoutMs`: a handler past its timeout may
   * still hold one), then destroys every idle resource; what is still out is logged. Safe to call twice.
   */
  async drain(timeoutMs = POOL_DRAIN_TIMEOUT_MS): Promise<void> {
    await Promise.all(
      [...this.pools].flatMap(([role, byName]) => [...byName].map(([name, { pool }]) => ({ role, name, pool }))).map(async ({ role, name, pool }) => {
        const timer = new AbortController();
        const drained = pool.drain().then(() => true);
        const bounded = await Promise.race([drained, sleep(timeoutMs, false, { signal: timer.signal }).catch(() => false)]);
        // The bound's timer goes once the drain is done, so it does not hold the process up.
        timer.abort();
        if (!bounded) this.logger.warn({ role, pool: name, borrowed: pool.borrowed }, 'shutting down with pooled resources still borrowed: destroying the idle ones only');
        await pool.clear();
      }),
    );
  }

  private create(role: string, name: string, entry: Entry): Pool<unknown> {
    const { spec } = entry;
    const pool = createPool(
      {
        create: async () => {
          try {
            const resource = await spec.create();
            entry.lastCreateError = undefined;
            return resource;
          } catch (err) {
            entry.lastCreateError = err instanceof Error ? err : new Error(String(err));
            await sleep(CREATE_RETRY_DELAY_MS);
            throw err;
          }
        },
        destroy: async (resource) => {
          await spec.destroy?.(resource);
        },
        // A validate that throws says the resource is no good (generic-pool would leave the rejection unhandled).
        ...(spec.validate
          ? {
              validate: async (resource: unknown) => {
                try {
                  return Boolean(await spec.validate!(resource));
                } catch (err) {
                  this.logger.warn({ err, role, pool: name }, 'a pooled resource failed validation by throwing: replaced');
                  return false;
                }
              },
            }
          : {}),
      },
      { min: spec.min ?? 0, max: spec.max, acquireTimeoutMillis: spec.acquireTimeoutMs, testOnBorrow: spec.validate !== undefined, autostart: true },
    );
    // A create or destroy that throws is reported here (generic-pool retries a failed create for the next borrower).
    pool.on('factoryCreateError', (err: unknown) => this.logger.warn({ err, role, pool: name }, 'could not create a pooled resource'));
    pool.on('factoryDestroyError', (err: unknown) => this.logger.warn({ err, role, pool: name }, 'could not destroy a pooled resource'));
    return pool;
  }
}
