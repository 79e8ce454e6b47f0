import { signedBroadcastContent, type BroadcastRecord } from '@taskyard/contracts';
import type { MessageSigner } from '@taskyard/crypto';
import type { Logger } from '@taskyard/observability';
import type { BroadcastStore, TaskyardKeys } from '@taskyard/store';
import type { Notifier } from '../notifier';
import type { BroadcastDispatcher } from './broadcast-dispatcher';

/** The most broadcasts one catch-up reads (oldest first from where the last one left off). */
export const CATCH_UP_LIMIT = 500;

export interface BroadcastListenerOptions {
  store: BroadcastStore;
  keys: TaskyardKeys;
  signer: MessageSigner;
  dispatcher: BroadcastDispatcher;
  /** This process's id in the worker registry: broadcasts name the workers they expect by it. */
  workerId: string;
  logger: Logger;
  /** Reads the stored log levels and puts them in force (at start, after every reconnect). */
  refreshLogLevels: () => Promise<void>;
  /** BROADCAST_RETENTION: nothing older is kept, so nothing older needs remembering. */
  retentionMs: number;
  /** How far API hosts' clocks may be behind this one's (MESSAGE_CLOCK_SKEW_MS): broadcasts are indexed by theirs. */
  clockSkewMs: number;
  now?: () => number;
}

/**
 * A worker process's side of broadcasts: the API publishes each new broadcast's id on the
 * broadcast channel; this reads the record, verifies its signature (Redis is a trust boundary,
 * as for tasks), and, when the broadcast expects this process, runs it and records the
 * acknowledgement. One at a time, in the order they arrive (a pause before its resume).
 *
 * Pub/sub drops what is published while the subscriber reconnects, so the notifier's catch-up
 * (after every reconnect, at start, and every few seconds on a cluster) reads the index of
 * broadcasts since the last catch-up and runs those not yet acknowledged here: delivery is at
 * least once (a broadcast whose acknowledgement could not be written runs again). The catch-up
 * also reads the stored log levels, so a worker that starts later, or missed a `set-log-level`,
 * logs at the deployment's level.
 */
export class BroadcastListener {
  /** Broadcasts done here (acknowledged, or not for this process), with their creation time: forgotten after the retention. */
  private readonly done = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();
  /** Where the next catch-up starts reading the index (ms): nothing before it is still to do. */
  private floorMs: number;
  private readonly now: () => number;

  constructor(private readonly options: BroadcastListenerOptions) {
    this.now = options.now ?? Date.now;
    // A broadcast made before this process started cannot expect it; one made by an API host whose clock is behind might.
    this.floorMs = this.now() - options.clockSkewMs;
  }

  attach(notifier: Notifier): void {
    notifier.listen(this.options.keys.broadcastChannel, (id) => void this.enqueue(id), () => this.catchUp());
  }

  /** Runs broadcast `id` after those before it. */
  enqueue(id: string): Promise<void> {
    const next = this.queue.then(() => this.receive(id));
    this.queue = next.catch((err: unknown) => this.options.logger.warn({ err, broadcastId: id }, 'could not apply a broadcast; the next catch-up tries again'));
    return this.queue;
  }

  /** The stored log levels, then every broadcast since the floor not yet done here. */
  async catchUp(): Promise<void> {
    const { store, refreshLogLevels, retentionMs, clockSkewMs } = this.options;
    await refreshLogLevels();
    const positions = await store.since(this.floorMs, CATCH_UP_LIMIT);
    await Promise.all(positions.filter(({ id }) => !this.done.has(id)).map(({ id }) => this.enqueue(id)));
    const pending = positions.find(({ id }) => !this.done.has(id));
    const last = positions.at(-1);
    // Up to the first still to do; past everything read otherwise, less what a slower clock may still add behind it.
    if (pending) this.floorMs = Math.max(this.floorMs, pending.createdAtMs);
    else if (last) this.floorMs = Math.max(this.floorMs, last.createdAtMs - clockSkewMs);
    const forgetBefore = this.now() - retentionMs;
    for (const [id, createdAtMs] of this.done) if (createdAtMs < forgetBefore) this.done.delete(id);
  }

  private async receive(id: string): Promise<void> {
    if (this.done.has(id)) return;
    const { store, signer, workerId, logger, dispatcher } = this.options;
    const record = await store.read(id);
    // Past its retention (or never stored): nothing to do.
    if (!record) return;
    const createdAtMs = Date.parse(record.createdAt);
    if (!verified(signer, record)) {
      logger.warn({ broadcastId: id, type: record.type }, 'broadcast refused: its signature does not verify (altered in Redis, or signed with a key this worker does not have)');
      this.done.set(id, createdAtMs);
      return;
    }
    if (!record.expected.includes(workerId)) {
      // Made just before this process joined the registry: not for it, but a new level is.
      if (record.type === 'set-log-level') await this.options.refreshLogLevels();
      this.done.set(id, createdAtMs);
      return;
    }
    const outcome = await dispatcher.dispatch(record);
    const recorded = await store.ack(id, { workerId, at: new Date(this.now()).toISOString(), ...outcome.ack });
    this.done.set(id, createdAtMs);
    if (!recorded) logger.debug({ broadcastId: id }, 'broadcast gone before its acknowledgement');
    outcome.afterAck?.();
  }
}

function verified(signer: MessageSigner, record: BroadcastRecord): boolean {
  const { signature, ...content } = record;
  return signer.verify(signedBroadcastContent(content), signature);
}
