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
export class RolePools {
  private readonly pools = new Map<string, Map<string, { pool: Pool<unknown>; spec: AnyPoolSpec }>>();
  private readonly waits: Histogram<'role' | 'pool'>;
  private readonly timeouts: Counter<'role' | 'pool'>;

  constructor(roles: readonly AnyRole[], registry: Registry, private readonly logger: Logger) {
    for (const role of roles) {
      const byName = new Map<string, { pool: Pool<unknown>; spec: AnyPoolSpec }>();
      for (const [name, spec] of Object.entries(role.pools)) byName.set(name, { pool: this.create(role.name, name, spec), spec });
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
      throw new TransientTaskError(`pool "${name}" of role "${role}" had no free resource within ${entry.spec.acquireTimeoutMs} ms (${pool.borrowed} borrowed, max ${pool.max})`, 'POOL_TIMEOUT', { cause: err });
    } finally {
      waited();
    }
    try {
      return await fn(resource);
    } finally {
      await pool.release(resource).catch((err: unknown) => this.logger.warn({ err, role, pool: name }, 'could not return a resource to its pool'));
    }
  }

  /** Waits for borrowed resources to come back, then destroys every resource; safe to call twice. */
  async drain(): Promise<void> {
    await Promise.all(
      [...this.pools.values()].flatMap((byName) => [...byName.values()]).map(async ({ pool }) => {
        await pool.drain();
        await pool.clear();
      }),
    );
  }

  private create(role: string, name: string, spec: AnyPoolSpec): Pool<unknown> {
    const pool = createPool(
      {
        create: () => spec.create(),
        destroy: async (resource) => {
          await spec.destroy?.(resource);
        },
        ...(spec.validate ? { validate: async (resource: unknown) => Boolean(await spec.validate!(resource)) } : {}),
      },
      { min: spec.min ?? 0, max: spec.max, acquireTimeoutMillis: spec.acquireTimeoutMs, testOnBorrow: spec.validate !== undefined, autostart: true },
    );
    // A create or destroy that throws is reported here (generic-pool retries a failed create for the next borrower).
    pool.on('factoryCreateError', (err: unknown) => this.logger.warn({ err, role, pool: name }, 'could not create a pooled resource'));
    pool.on('factoryDestroyError', (err: unknown) => this.logger.warn({ err, role, pool: name }, 'could not destroy a pooled resource'));
    return pool;
  }
}
