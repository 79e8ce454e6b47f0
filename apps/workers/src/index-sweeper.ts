import type { Logger } from '@taskyard/observability';
import type { RedisClient, TaskIndex } from '@taskyard/store';

/** How often a worker process sweeps the search indexes of its roles. */
export const INDEX_SWEEP_MS = 5000;

/**
 * Keeps the search indexes (GET /v1/tasks) of a worker process's roles as small as the tasks
 * they index: every few seconds (with jitter, so replicas spread), each role's index loses the
 * tasks whose jobs BullMQ's retention removed (TaskIndex.sweep). One pass at a time; none while
 * Redis is away. Sweeping is idempotent, so replicas sweeping the same role only repeat work.
 */
export class IndexSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly index: TaskIndex,
    private readonly roles: readonly string[],
    private readonly logger: Logger,
    private readonly everyMs = INDEX_SWEEP_MS,
  ) {}

  start(): void {
    if (this.stopped || this.timer) return;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every role (also what the timer runs). */
  async sweepOnce(): Promise<number> {
    let removed = 0;
    for (const role of this.roles) removed += await this.index.sweep(role);
    return removed;
  }

  private schedule(): void {
    const delay = this.everyMs * (0.75 + Math.random() * 0.5);
    this.timer = setTimeout(() => {
      if (this.redis.status === 'ready') {
        this.running = this.sweepOnce()
          .then((removed) => {
            if (removed > 0) this.logger.debug({ removed }, 'search index swept');
          })
          .catch((err: unknown) => this.logger.debug({ err }, 'search index sweep failed; the next one retries'))
          .finally(() => (this.running = undefined));
      }
      void Promise.resolve(this.running).then(() => {
        if (!this.stopped) this.schedule();
      });
    }, delay);
    this.timer.unref();
  }
}
