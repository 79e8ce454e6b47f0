import type { Redis, RoleQueues, RoleRegistry } from '@taskyard/shared';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';

/**
 * Seconds a client should wait after a 429 QUEUE_FULL. A queue drains at the pace of its
 * workers, which the API cannot know; a few seconds keeps retries from hammering a full role.
 */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

/** What the 429 QUEUE_FULL names in `details`. */
export interface QueueFullDetails {
  role: string;
  /** Tasks not yet started (waiting + paused + delayed + prioritised) when the request came. */
  depth: number;
  limit: number;
  /** Tasks of the role this request would have added. */
  requested: number;
}

/**
 * Backpressure: refuses work for a role whose queue already holds `maxQueueDepth` tasks that
 * have not started. Roles without the setting cost nothing: no Redis command is sent for them.
 *
 * The limit is soft: the depth is read, then the tasks are added (BullMQ's add is a script of
 * its own, so both cannot run as one). Requests in flight at the same moment, on this or other
 * API replicas, each see the same depth, so the queue may overshoot by at most the tasks of the
 * requests that raced. It never overshoots because of one large batch: a batch is admitted or
 * refused whole against the depth it saw.
 */
export class QueueDepthGuard {
  private readonly limits: ReadonlyMap<string, number>;

  constructor(
    private readonly redis: Redis,
    private readonly queues: RoleQueues,
    registry: RoleRegistry,
  ) {
    const limits = new Map<string, number>();
    for (const role of registry.all()) {
      if (role.maxQueueDepth !== undefined) limits.set(role.name, role.maxQueueDepth);
    }
    this.limits = limits;
  }

  /** True when `role` has a maxQueueDepth, i.e. when admit() would ask Redis about it. */
  isLimited(role: string): boolean {
    return this.limits.has(role);
  }

  /**
   * Throws 429 QUEUE_FULL (with Retry-After) when adding `additions` (tasks per role) would take
   * any depth-limited role past its limit; reads every such role's depth in one round trip.
   */
  async admit(additions: ReadonlyMap<string, number>): Promise<void> {
    const limited = [...additions].filter(([role]) => this.limits.has(role));
    if (limited.length === 0) return;
    const depths = await withRedis(this.redis, () => this.depths(limited.map(([role]) => role)));
    limited.forEach(([role, requested], index) => {
      const limit = this.limits.get(role)!;
      const depth = depths[index]!;
      if (depth + requested > limit) {
        const details: QueueFullDetails = { role, depth, limit, requested };
        const room = Math.max(0, limit - depth);
        throw new ApiError(
          'QUEUE_FULL',
          `role "${role}" holds ${depth} tasks not yet started and accepts at most ${limit}; ` +
            `this request adds ${requested}, there is room for ${room}`,
          details,
          { 'retry-after': String(QUEUE_FULL_RETRY_AFTER_SECONDS) },
        );
      }
    });
  }

  /** Tasks not yet started per role, counted as BullMQ's getWaitingCount + delayed + prioritised. */
  private async depths(roles: readonly string[]): Promise<number[]> {
    const pipeline = this.redis.pipeline();
    for (const role of roles) {
      const keys = this.queues.get(role).keys;
      pipeline.llen(keys['wait']!).llen(keys['paused']!).zcard(keys['delayed']!).zcard(keys['prioritized']!);
    }
    const replies = (await pipeline.exec()) ?? [];
    const counts = replies.map(([error, count]) => {
      if (error) throw error;
      return Number(count);
    });
    return roles.map((_, index) => counts.slice(index * 4, index * 4 + 4).reduce((sum, count) => sum + count, 0));
  }
}
