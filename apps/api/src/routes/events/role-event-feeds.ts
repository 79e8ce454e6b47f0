import { QueueEvents } from 'bullmq';
import type { Logger } from '@taskyard/observability';
import { fieldsOfFlat, type RedisClient, type RoleQueues } from '@taskyard/store';
import { compareStreamIds } from './stream-ids';

/** One entry of a role's BullMQ events stream: its id, the event's name, the job it is about, its fields. */
export interface RawTaskEvent {
  id: string;
  role: string;
  name: string;
  jobId: string;
  fields: Record<string, unknown>;
}

/** Called with every event of the role, in the stream's order. */
export type FeedListener = (event: RawTaskEvent) => void;

/** The BullMQ events a live stream follows (an `added` is followed by `waiting` or `delayed`; `stalled` by `waiting`). */
export const FOLLOWED_EVENTS = ['waiting', 'delayed', 'active', 'progress', 'completed', 'failed', 'removed', 'waiting-children'] as const;

/** How long closing waits for readers still opening. */
const CLOSE_WAIT_MS = 1000;
/** Entries one replay reads per call. */
const REPLAY_PAGE = 500;

interface Feed {
  events: QueueEvents;
  connection: RedisClient;
  listeners: Set<FeedListener>;
}

/**
 * The API process's readers of BullMQ's events streams: one QueueEvents (one blocking XREAD
 * connection) per role that someone follows, however many clients follow it, started with the
 * first listener and closed with the last. A reader starts at the stream's end as it is when
 * asked (so an event between a listener's snapshot and the reader's first read is not missed)
 * and resumes from its own last id after a reconnect. What happened before a listener came,
 * it reads with replay() (XRANGE over the same stream, which BullMQ trims to QUEUE_EVENTS_MAX_LEN).
 */
export class RoleEventFeeds {
  private readonly feeds = new Map<string, Promise<Feed>>();
  private closed = false;

  constructor(
    private readonly deps: {
      redis: RedisClient;
      queues: RoleQueues;
      /** A connection of its own for a reader (it blocks): rides out Redis restarts. */
      connect: (name: string) => RedisClient;
      logger: Logger;
    },
  ) {}

  /** Calls `listener` with each new event of `role` until the returned function is called. */
  async listen(role: string, listener: FeedListener): Promise<() => void> {
    if (this.closed) throw new Error('the event feeds are closed');
    let feed = this.feeds.get(role);
    if (!feed) {
      const opening = this.open(role);
      feed = opening;
      this.feeds.set(role, opening);
      opening.catch(() => {
        if (this.feeds.get(role) === opening) this.feeds.delete(role);
      });
    }
    const opened = await feed;
    // The last listener may have left (and the reader been shut) while this one waited: start again.
    if (this.feeds.get(role) !== feed) return this.listen(role, listener);
    opened.listeners.add(listener);
    return () => {
      opened.listeners.delete(listener);
      if (opened.listeners.size === 0 && this.feeds.get(role) === feed) {
        this.feeds.delete(role);
        void this.shut(opened);
      }
    };
  }

  /** The id of the newest entry of `role`'s events stream ('0-0' when it has none). */
  async latestId(role: string): Promise<string> {
    const [newest] = await this.deps.redis.xrevrange(this.streamKey(role), '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0-0';
  }

  /** The id of the oldest entry it still keeps (undefined when it is empty). */
  async oldestId(role: string): Promise<string | undefined> {
    const [oldest] = await this.deps.redis.xrange(this.streamKey(role), '-', '+', 'COUNT', 1);
    return oldest?.[0];
  }

  /** Reads every event of `role` after `after` (exclusive, or from `from` inclusive) up to the stream's end, in order. */
  async replay(role: string, start: { after: string } | { from: string }, each: FeedListener): Promise<string | undefined> {
    let cursor = 'after' in start ? `(${start.after}` : start.from;
    let last: string | undefined;
    for (;;) {
      const entries = await this.deps.redis.xrange(this.streamKey(role), cursor, '+', 'COUNT', REPLAY_PAGE);
      for (const [id, flat] of entries) {
        const fields = fieldsOfFlat(flat);
        if (typeof fields['event'] === 'string' && typeof fields['jobId'] === 'string') {
          each({ id, role, name: fields['event'], jobId: fields['jobId'], fields: parsed(fields['event'], fields) });
        }
        last = id;
      }
      if (entries.length < REPLAY_PAGE) return last;
      cursor = `(${last!}`;
    }
  }

  /** Stops every reader; one still opening (Redis away) is shut once it opens, without holding the shutdown. */
  async close(): Promise<void> {
    this.closed = true;
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    const shut = Promise.all(feeds.map(async (feed) => this.shut(await feed.catch(() => undefined))));
    await Promise.race([shut, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
  }

  private async open(role: string): Promise<Feed> {
    const queue = this.deps.queues.get(role);
    const lastEventId = await this.latestId(role);
    const connection = this.deps.connect(`taskyard-api-events:${role}`);
    connection.on('error', (err) => this.deps.logger.debug({ err, role }, 'events reader connection error'));
    const events = new QueueEvents(queue.name, { connection, prefix: queue.opts.prefix!, lastEventId, autorun: true });
    events.on('error', (err) => this.deps.logger.debug({ err, role }, 'events reader error'));
    try {
      await events.waitUntilReady();
    } catch (err) {
      await this.shut({ events, connection, listeners: new Set() });
      throw err;
    }
    const listeners = new Set<FeedListener>();
    let lastId = lastEventId;
    // QueueEvents types each event's listener; every followed one has (fields, id).
    const on = events.on.bind(events) as unknown as (name: string, listener: (fields: Record<string, unknown>, id: string) => void) => void;
    for (const name of FOLLOWED_EVENTS) {
      on(name, (fields, id) => {
        // QueueEvents delivers in stream order; a reader restarted on its own id repeats none.
        if (compareStreamIds(id, lastId) <= 0 || typeof fields['jobId'] !== 'string') return;
        lastId = id;
        const event = { id, role, name, jobId: fields['jobId'], fields };
        for (const listener of listeners) listener(event);
      });
    }
    return { events, connection, listeners };
  }

  private async shut(feed: Feed | undefined): Promise<void> {
    if (!feed) return;
    await feed.events.close().catch(() => undefined);
    feed.connection.disconnect();
  }

  private streamKey(role: string): string {
    return this.deps.queues.get(role).keys.events!;
  }
}

/** The fields of an entry read by XRANGE, parsed as QueueEvents parses them. */
function parsed(event: string, fields: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields };
  try {
    if (event === 'progress' && fields['data'] !== undefined) out['data'] = JSON.parse(fields['data']);
    if (event === 'completed' && fields['returnvalue'] !== undefined) out['returnvalue'] = JSON.parse(fields['returnvalue']);
  } catch {
    // Not JSON: left as it is.
  }
  return out;
}
