import type { Logger } from '@taskyard/observability';
import { createRedisConnection, isCluster, type RedisClient, type RedisTarget } from '@taskyard/store';

/** How often a worker on a Redis Cluster catches up on what pub/sub may have dropped (see Notifier.start). */
export const CLUSTER_CATCH_UP_MS = 5000;

/** What a subscriber does after a reconnect, once subscribed again: read back what pub/sub dropped meanwhile. */
export type CatchUp = () => Promise<void>;

/**
 * Every pub/sub channel a worker process listens on (cancellations, circuit transitions), on one
 * subscriber connection (a subscribed connection can do nothing else), with one reconnect story
 * (Oban's notifier): pub/sub drops what is published while the connection is away, so after
 * every reconnect, once subscribed again, each listener's catch-up reads the state it follows
 * back from Redis. Listeners register before start(); channels nobody listens to cost nothing.
 */
export class Notifier {
  private readonly handlers = new Map<string, ((message: string) => void)[]>();
  private readonly catchUps: CatchUp[] = [];
  private subscriber: RedisClient | undefined;
  private started = false;
  private catchUpTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: RedisTarget,
    private readonly logger: Logger,
    private readonly name: string,
    private readonly clusterCatchUpMs = CLUSTER_CATCH_UP_MS,
  ) {}

  /** Calls `handler` with every message published on `channel`; `catchUp` after every reconnect. */
  listen(channel: string, handler: (message: string) => void, catchUp?: CatchUp): void {
    if (this.started) throw new Error('Notifier.listen after start()');
    let list = this.handlers.get(channel);
    if (!list) this.handlers.set(channel, (list = []));
    list.push(handler);
    if (catchUp) this.catchUps.push(catchUp);
  }

  /** Subscribes (when anyone listens) and runs every catch-up once: the state before we listened counts too. */
  async start(): Promise<void> {
    this.started = true;
    if (this.handlers.size === 0) return;
    const subscriber = createRedisConnection(this.target, 'worker', { name: `taskyard-worker-notifier:${this.name}` });
    this.subscriber = subscriber;
    // Outages are reported by the runtime's main connection; this one reconnects and resubscribes by itself.
    subscriber.on('error', (err) => this.logger.debug({ err }, 'notifier subscriber error'));
    subscriber.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(message);
    });
    let subscribed = false;
    subscriber.on('ready', () => {
      if (subscribed) void this.catchUp(subscriber);
    });
    await subscriber.subscribe(...this.handlers.keys());
    subscribed = true;
    await this.runCatchUps();
    if (isCluster(subscriber)) {
      // ioredis' Cluster client moves its subscription to another node by itself when the
      // subscriber's connection drops, and says nothing (no 'ready'): what was published in
      // between is caught up on a timer instead, every CLUSTER_CATCH_UP_MS.
      this.catchUpTimer = setInterval(() => void this.runCatchUps(), this.clusterCatchUpMs);
      this.catchUpTimer.unref();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.catchUpTimer);
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }

  /** After a reconnect: subscribed again first (ioredis resubscribes; this makes sure), then every catch-up. */
  private async catchUp(subscriber: RedisClient): Promise<void> {
    try {
      await subscriber.subscribe(...this.handlers.keys());
    } catch (err) {
      // Redis went away again: the next reconnect catches up.
      this.logger.debug({ err }, 'could not resubscribe after a reconnect');
      return;
    }
    await this.runCatchUps();
  }

  private async runCatchUps(): Promise<void> {
    await Promise.all(
      this.catchUps.map((catchUp) =>
        catchUp().catch((err: unknown) => this.logger.warn({ err }, 'could not catch up on notifications after a reconnect')),
      ),
    );
  }
}
