import { DispatchError, QUEUE_FULL_RETRY_AFTER_SECONDS } from '@taskyard/contracts';
import type { AnyRole, RoleRegistry } from '@taskyard/roles';
import type { RoleQueues } from '@taskyard/store';

/** What QUEUE_FULL names in `details`. */
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
 * The limit is soft: the depth is read (BullMQ's getJobCounts), then the tasks are added
 * (BullMQ's add is a script of its own, so both cannot run as one). Requests in flight at the
 * same moment, on this or other API replicas, each see the same depth, so the queue may
 * overshoot by at most the tasks of the requests that raced. It never overshoots because of one
 * large batch: a batch is admitted or refused whole against the depth it saw.
 */
export class QueueDepthGuard {
  private readonly limits: ReadonlyMap<string, number>;

  constructor(
    private readonly queues: RoleQueues,
    registry: RoleRegistry,
  ) {
    this.limits = new Map(registry.all().flatMap((role: AnyRole) => (role.maxQueueDepth === undefined ? [] : [[role.name, role.maxQueueDepth] as const])));
  }

  /** True when `role` has a maxQueueDepth, i.e. when admit() would ask Redis about it. */
  isLimited(role: string): boolean {
    return this.limits.has(role);
  }

  /**
   * Throws QUEUE_FULL when adding `additions` (tasks per role) would take any depth-limited role
   * past its limit; reads every such role's depth at once (one round trip).
   */
  async admit(additions: ReadonlyMap<string, number>): Promise<void> {
    const limited = [...additions].filter(([role]) => this.limits.has(role));
    if (limited.length === 0) return;
    const depths = await Promise.all(limited.map(([role]) => this.queues.depth(role)));
    limited.forEach(([role, requested], index) => {
      const limit = this.limits.get(role)!;
      const depth = depths[index]!;
      if (depth + requested <= limit) return;
      const details: QueueFullDetails = { role, depth, limit, requested };
      throw new DispatchError(
        'QUEUE_FULL',
        `role "${role}" holds ${depth} tasks not yet started and accepts at most ${limit}; ` +
          `this request adds ${requested}, there is room for ${Math.max(0, limit - depth)}; retry in ${QUEUE_FULL_RETRY_AFTER_SECONDS} s`,
        details,
      );
    });
  }
}
