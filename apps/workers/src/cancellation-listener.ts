import {
  CancelledError,
  createRedisConnection,
  parseMessageRecord,
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
 * Pub/sub drops what is published while the subscriber is reconnecting. So after every
 * reconnect, once subscribed again, the listener reads the ledger records of the tasks running
 * here (one MGET) and aborts those recorded as cancelled: a cancellation is recorded before it is
 * published, so none falls between the two. An attempt that starts later sees the record itself.
 */
export class CancellationListener {
  readonly attempts = new RunningAttempts();
  private readonly subscriber: Redis;
  private readonly channel: string;
  private subscribed = false;

  constructor(
    config: TaskyardConfig,
    private readonly keys: TaskyardKeys,
    private readonly logger: Logger,
    name: string,
    /** A connection for the catch-up reads (the subscriber can only listen). */
    private readonly redis: Redis,
  ) {
    this.channel = keys.cancelChannel;
    this.subscriber = createRedisConnection(config.redisUrl, 'worker', { name: `taskyard-worker-cancel:${name}` });
    // Outages are reported by the runtime's main connection; this one reconnects and resubscribes by itself.
    this.subscriber.on('error', (err) => logger.debug({ err }, 'cancellation subscriber error'));
    this.subscriber.on('message', (channel: string, taskId: string) => {
      if (channel === this.channel) this.cancel(taskId);
    });
    this.subscriber.on('ready', () => {
      if (this.subscribed) void this.catchUp();
    });
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
  }

  async close(): Promise<void> {
    this.subscribed = false;
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  /** After a reconnect: subscribed again first, then the cancellations that may have been missed. */
  private async catchUp(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel);
      const taskIds = this.attempts.taskIds();
      if (taskIds.length === 0) return;
      const records = await this.redis.mget(taskIds.map((taskId) => this.keys.message(taskId)));
      taskIds.forEach((taskId, index) => {
        if (parseMessageRecord(records[index])?.status === 'cancelled') this.cancel(taskId);
      });
    } catch (err) {
      // Redis went away again: the next reconnect catches up.
      this.logger.debug({ err }, 'could not catch up on cancellations after a reconnect');
    }
  }

  private cancel(taskId: string): void {
    const aborted = this.attempts.abort(taskId, () => new CancelledError());
    if (aborted > 0) this.logger.info({ taskId }, 'task cancelled: aborting its attempt');
  }
}
