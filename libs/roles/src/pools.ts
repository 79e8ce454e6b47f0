import { z } from 'zod';

/**
 * A pool of resources a role's handlers borrow (`ctx.use(name, fn)`): connections to a
 * database, clients of a rate-limited API, browsers. The worker keeps one pool per role and name
 * in each process (generic-pool), creates `min` at start, at most `max`, hands each borrower one
 * resource at a time, and destroys them all when the process shuts down.
 */
export interface PoolSpec<T = unknown> {
  /** Makes a resource (rejecting: the pool tries again for the next borrower). */
  create: () => Promise<T>;
  /** Closes a resource (at shutdown, and when it fails `validate`). */
  destroy?: (resource: T) => Promise<void> | void;
  /** Checked before each borrow: false destroys the resource and hands out another. */
  validate?: (resource: T) => Promise<boolean> | boolean;
  /** Resources kept ready (default 0). */
  min?: number;
  /** Resources at most (also the most borrowers served at once). */
  max: number;
  /** How long a borrower waits for a resource before its attempt fails with a transient POOL_TIMEOUT. */
  acquireTimeoutMs: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPoolSpec = PoolSpec<any>;

export const POOL_NAME = /^[a-z][\w-]{0,63}$/;

const PoolBoundsSchema = z
  .object({
    min: z.number().int().min(0).max(1000).optional(),
    max: z.number().int().min(1).max(1000),
    acquireTimeoutMs: z.number().int().min(1).max(600_000),
  })
  .refine((pool) => (pool.min ?? 0) <= pool.max, { message: 'min must not exceed max', path: ['min'] });

/** The problems of a role's pools (names, bounds, functions), each naming its pool. */
export function poolProblems(pools: Readonly<Record<string, AnyPoolSpec>>): string[] {
  const problems: string[] = [];
  for (const [name, pool] of Object.entries(pools)) {
    if (!POOL_NAME.test(name)) problems.push(`pools.${name}: a pool name is a lower-case letter, then letters, digits, "_" or "-" (at most 64)`);
    if (typeof pool?.create !== 'function') problems.push(`pools.${name}.create: a function that makes a resource`);
    for (const hook of ['destroy', 'validate'] as const) {
      if (pool?.[hook] !== undefined && typeof pool[hook] !== 'function') problems.push(`pools.${name}.${hook}: a function`);
    }
    const bounds = PoolBoundsSchema.safeParse({ min: pool?.min, max: pool?.max, acquireTimeoutMs: pool?.acquireTimeoutMs });
    if (!bounds.success) for (const issue of bounds.error.issues) problems.push(`pools.${name}.${issue.path.join('.')}: ${issue.message}`);
  }
  return problems;
}
