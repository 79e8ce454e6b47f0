import {
  CancelledError,
  createRedisConnection,
  TaskyardKeys,
  type Logger,
  type Redis,
  type TaskyardConfig,
} from '@taskyard/shared';
import { RunningAttempts } from './running-attempts';

/**
 * Listens for cancellations of active tasks (the API publishes the task id on the cancel channel
 * after recording the cancellation) and aborts the attempts of those tasks running in this
 * process. One subscriber connection per process: a subscribed connection can do nothing else.
 *
 * A message published while the subscriber is reconnecting is lost: that attempt runs on, and
 * a repeated DELETE publishes again. An attempt that starts later still sees the recorded
 * cancellation in the ledger and does not run.
 */
export class CancellationListener {
  readonly attempts = new RunningAttempts();
  private readonly subscriber: Redis;
  private readonly channel: string;

  constructor(
    config: TaskyardConfig,
    keys: TaskyardKeys,
    private readonly logger: Logger,
    name: string,
  ) {
    this.channel = keys.cancelChannel;
    this.subscriber = createRedisConnection(config.redisUrl, 'worker', { name: `taskyard-worker-cancel:${name}` });
    // Outages are reported by the runtime's main connection; this one reconnects and resubscribes by itself.
    this.subscriber.on('error', (err) => logger.debug({ err }, 'cancellation subscriber error'));
    this.subscriber.on('message', (channel: string, taskId: string) => {
      if (channel !== this.channel) return;
      const aborted = this.attempts.abort(taskId, () => new CancelledError());
      if (aborted > 0) logger.info({ taskId }, 'task cancelled: aborting its attempt');
    });
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}
