import type { Logger } from '@taskyard/observability';
import { INDEX_SWEEP_MS, type RedisClient, type TaskIndex } from '@taskyard/store';
/** Passes one sweep of a role may make in a row (each examines SWEEP_EXAMINE entries). */
const MAX_PASSES = 50;

/**
 * Keeps the search indexes (GET /v1/tasks) of a worker process's roles as small as the tasks
 * they index: every few seconds (with jitter, so replicas spread), each role's index loses the
 * tasks whose jobs BullMQ's retention removed (TaskIndex.sweep), pass after pass while there
 * are such. One pass at a time; none while
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

  /**
   * Sweeps every role (what the timer runs): a role whose pass took something out is swept
   * again at once, up to MAX_PASSES passes, so the sweep keeps up with a busy role's retention
   * (each pass is one short script call).
   */
  async sweepOnce(): Promise<number> {
    let removed = 0;
    for (const role of this.roles) {
      for (let pass = 0; pass < MAX_PASSES && !this.stopped; pass++) {
        const taken = await this.index.sweep(role);
        removed += taken;
        if (taken === 0) break;
      }
    }
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
