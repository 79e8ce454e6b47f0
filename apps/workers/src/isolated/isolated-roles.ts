import { Counter } from 'prom-client';
import type { TaskyardConfig } from '@taskyard/config';
import { METRIC, type Logger } from '@taskyard/observability';
import type { AnyRole } from '@taskyard/roles';
import type { WorkerMetrics } from '../worker-metrics';
import { IsolatedPool, type ChildLossReason } from './isolated-pool';

/**
 * The process pools of a worker's isolated roles (`isolated: true`), made (with a first child
 * started) when such a role's worker is created; roles that are not isolated never touch this.
 */
export class IsolatedRoles {
  private readonly pools = new Map<string, IsolatedPool>();
  private readonly losses: Counter<'role' | 'reason'>;

  constructor(
    private readonly config: TaskyardConfig,
    private readonly logger: Logger,
    metrics: WorkerMetrics,
  ) {
    this.losses = new Counter({
      name: METRIC.isolatedLosses,
      help: 'Isolated child processes lost during a task (killed at the timeout or on abort, or crashed), by role and reason',
      labelNames: ['role', 'reason'],
      registers: [metrics.registry],
    });
  }

  /** The pool that runs `role`'s handler in child processes. */
  poolFor(role: AnyRole): IsolatedPool {
    let pool = this.pools.get(role.name);
    if (!pool) {
      const { config } = this;
      const init = {
        type: 'init' as const,
        role: role.name,
        roleModules: config.roleModules,
        redis: { redisUrl: config.redisUrl, redisClusterNodes: config.redisClusterNodes, redisTlsCa: config.redisTlsCa },
        queuePrefix: config.queuePrefix,
        logLevel: config.logLevel,
      };
      const reasons: ChildLossReason[] = ['timeout', 'aborted', 'crashed'];
      // Series at zero from the start, so rate() sees the first loss.
      for (const reason of reasons) this.losses.labels(role.name, reason).inc(0);
      pool = new IsolatedPool(role, init, config, this.logger.child({ role: role.name }), (reason) => this.losses.labels(role.name, reason).inc());
      pool.warm();
      this.pools.set(role.name, pool);
    }
    return pool;
  }

  /** Ends every child process; call after the role workers have finished their active tasks. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
  }
}
