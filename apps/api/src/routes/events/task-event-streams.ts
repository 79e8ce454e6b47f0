import { canSeeTenant, isTerminal, type EventStreamQuery, type Principal, type TaskView } from '@taskyard/contracts';
import type { RoleRegistry } from '@taskyard/roles';
import type { RedisClient, TaskStore } from '@taskyard/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';
import { requireRole } from '../require-role';
import { taskNotFound } from '../tasks/task-canceller';
import type { RawTaskEvent, RoleEventFeeds } from './role-event-feeds';
import { SseStream, type SseLimits } from './sse-stream';
import { compareStreamIds, isStreamId, streamIdMs } from './stream-ids';
import type { TaskEvent, TaskEventMapper, TaskFacts } from './task-event-mapper';

export interface TaskEventStreamsDeps {
  feeds: RoleEventFeeds;
  mapper: TaskEventMapper;
  store: TaskStore;
  registry: RoleRegistry;
  redis: RedisClient;
  limits: SseLimits & { maxStreamsPerKey: number };
}

/** Raw events one stream may have waiting for their turn (a `failed` is read from the store first) before it counts as too slow. */
const MAX_PENDING = 10_000;

/**
 * The live streams (Server-Sent Events) of task events: one task's (GET /v1/tasks/:id/events)
 * and every matching task's of the caller's tenant (GET /v1/events). Each follows the shared
 * reader of its roles (RoleEventFeeds); `Last-Event-ID` resumes from BullMQ's events stream
 * (XRANGE), without loss while the stream still holds the entries after it.
 *
 * Ids: a task's stream uses the BullMQ stream id of each event. GET /v1/events spans roles,
 * whose streams are apart, so its ids are `<role>/<stream id>/<floor ms>`, where the floor is a
 * time up to which every followed role's events had been sent when that one was: resuming takes
 * the named role after its id and every other role from the floor (so some of those may come
 * twice: their ids tell them apart), never missing one.
 */
export class TaskEventStreams {
  private readonly open = new Map<string, number>();
  private readonly streams = new Set<SseStream>();
  private closing = false;

  constructor(private readonly deps: TaskEventStreamsDeps) {}

  /** GET /v1/tasks/:id/events. */
  async followTask(request: FastifyRequest, reply: FastifyReply, id: string, lastEventId: string | undefined): Promise<void> {
    const { store, feeds, redis, mapper } = this.deps;
    const principal = request.principal!;
    const view = await withRedis(redis, () => store.read(id));
    if (!view || !canSeeTenant(principal, view.tenant)) throw taskNotFound(id);
    if (lastEventId !== undefined && !isStreamId(lastEventId)) throw badLastEventId('a task stream event id is <ms>-<seq>');
    const release = this.admit(principal);
    const role = view.role;
    let stream: SseStream | undefined;
    const sequence = new Sequencer(() => stream?.end('unavailable'));
    let sentUpTo = '0-0';
    let lastState: string | undefined;
    const deliver = (event: TaskEvent | undefined, streamId: string) => {
      if (!stream || stream.isClosed || !event || compareStreamIds(streamId, sentUpTo) <= 0) return;
      sentUpTo = streamId;
      if (event.type === 'state') {
        // A state already shown (the snapshot read after the event it stands for) is not a change.
        if (event.body.state === lastState) return;
        lastState = event.body.state;
      }
      stream.send(event.type, event.body, streamId);
      if (event.type === 'state' && isTerminal(event.body.state)) stream.end();
    };
    const step = (raw: RawTaskEvent) => () => mapper.map(raw).then((event) => deliver(event, raw.id));
    // Live events wait behind the gate until the stream is set up (and, resuming, its replay is read).
    const open = sequence.gate();
    const onRaw = (raw: RawTaskEvent) => {
      if (raw.jobId === id && !sequence.push(step(raw))) stream?.end('slow-client');
    };
    let unlisten: (() => void) | undefined;
    try {
      unlisten = await withRedis(redis, () => feeds.listen(role, onRaw));
      const resumeFrom = lastEventId !== undefined && !(await withRedis(redis, () => this.lost(role, lastEventId))) ? lastEventId : undefined;
      let snapshot: TaskView | undefined;
      let missed: RawTaskEvent[] | undefined;
      let after: string;
      if (resumeFrom === undefined) {
        // The stream's place first, then the state: a change in between is in both, and shown once.
        after = await withRedis(redis, () => feeds.latestId(role));
        snapshot = await withRedis(redis, () => store.read(id));
        if (!snapshot) throw taskNotFound(id);
      } else {
        after = resumeFrom;
        if (isTerminal(view.state)) {
          // A finished task's client reconnecting (EventSource does) gets what it missed, or 204: nothing more will come.
          const found: RawTaskEvent[] = [];
          await withRedis(redis, () => feeds.replay(role, { after: resumeFrom }, (raw) => void (raw.jobId === id && found.push(raw))));
          if (found.length === 0) {
            unlisten();
            release();
            open(() => undefined);
            void reply.code(204).send();
            return;
          }
          missed = found;
        }
      }
      stream = this.track(new SseStream(request, reply, this.deps.limits), () => {
        unlisten?.();
        release();
      });
      if (snapshot) {
        sentUpTo = after;
        lastState = snapshot.state;
        stream.send('state', snapshotOf(snapshot), after);
        if (isTerminal(snapshot.state)) stream.end();
        open(() => undefined);
      } else if (missed) {
        const events = missed;
        open(() => events.forEach((raw) => sequence.pushNow(step(raw))));
      } else {
        // Resume: what happened after the client's last event, then live.
        open(() => feeds.replay(role, { after }, (raw) => void (raw.jobId === id && sequence.pushNow(step(raw)))).then(() => undefined));
      }
    } catch (err) {
      open(() => undefined);
      unlisten?.();
      if (!stream) release();
      if (stream) stream.end('unavailable');
      else throw err;
    }
  }

  /** GET /v1/events. */
  async followAll(request: FastifyRequest, reply: FastifyReply, query: EventStreamQuery, lastEventId: string | undefined): Promise<void> {
    const { feeds, registry, redis, mapper } = this.deps;
    const principal = request.principal!;
    if (query.role !== undefined) requireRole(registry, query.role);
    const resume = lastEventId === undefined ? undefined : parseFanInId(lastEventId);
    if (lastEventId !== undefined && !resume) throw badLastEventId('an event id of this stream is <role>/<ms>-<seq>/<ms>');
    const foreignTenant = principal.tenant !== undefined && query.tenant !== undefined && query.tenant !== principal.tenant;
    const tenant = principal.tenant ?? query.tenant;
    const roles = query.role === undefined ? registry.names() : [query.role];
    const release = this.admit(principal);
    let stream: SseStream | undefined;
    const sequence = new Sequencer(() => stream?.end('unavailable'));
    // Per role: every event up to here was sent (or was not this stream's).
    const upTo = new Map<string, string>();
    const floorMs = () => Math.min(...[...upTo.values()].map(streamIdMs));
    const matches = (facts: TaskFacts | undefined) =>
      !foreignTenant &&
      !!facts &&
      (tenant === undefined || facts.tenant === tenant) &&
      (query.correlationId === undefined || facts.correlationId === query.correlationId) &&
      (query.workflowId === undefined || facts.workflowId === query.workflowId);
    const handle = async (raw: RawTaskEvent) => {
      if (!stream || stream.isClosed || compareStreamIds(raw.id, upTo.get(raw.role) ?? '0-0') <= 0) return;
      const [event, facts] = await Promise.all([mapper.map(raw), mapper.factsOf(raw.jobId)]);
      upTo.set(raw.role, raw.id);
      if (!event || !matches(facts)) return;
      const body = { ...event.body, ...(facts?.correlationId ? { correlationId: facts.correlationId } : {}), ...(facts?.workflowId ? { workflowId: facts.workflowId } : {}) };
      stream.send(event.type, body, `${raw.role}/${raw.id}/${floorMs()}`);
    };
    const open = sequence.gate();
    const onRaw = (raw: RawTaskEvent) => {
      if (!sequence.push(() => handle(raw))) stream?.end('slow-client');
    };
    const unlistens: (() => void)[] = [];
    try {
      for (const role of roles) unlistens.push(await withRedis(redis, () => feeds.listen(role, onRaw)));
      // A role with no recent events is sent up to now: what comes later has a later id.
      const nowId = `${await withRedis(redis, () => redisTimeMs(redis))}-0`;
      const starts = await withRedis(redis, () =>
        Promise.all(
          roles.map(async (role) => {
            if (!resume) {
              const latest = await feeds.latestId(role);
              return { kind: 'live' as const, role, at: compareStreamIds(latest, nowId) > 0 ? latest : nowId };
            }
            const from: { after: string } | { from: string } = role === resume.role ? { after: resume.id } : { from: `${resume.floorMs}-0` };
            return { kind: 'resume' as const, role, from };
          }),
        ),
      );
      stream = this.track(new SseStream(request, reply, this.deps.limits), () => {
        unlistens.forEach((unlisten) => unlisten());
        release();
      });
      for (const start of starts) {
        // Resuming: until its replay is sent, a role counts as sent up to where it resumes.
        upTo.set(start.role, start.kind === 'live' ? start.at : 'after' in start.from ? start.from.after : `${Math.max(0, resume!.floorMs - 1)}-0`);
      }
      open(async () => {
        for (const start of starts) {
          if (start.kind === 'resume') await feeds.replay(start.role, start.from, (raw) => sequence.pushNow(() => handle(raw)));
        }
      });
    } catch (err) {
      open(() => undefined);
      unlistens.forEach((unlisten) => unlisten());
      if (!stream) release();
      if (stream) stream.end('unavailable');
      else throw err;
    }
  }

  /** Ends every open stream (the API is shutting down): each client gets `event: end` (`shutdown`). */
  closeAll(): void {
    this.closing = true;
    for (const stream of [...this.streams]) stream.end('shutdown');
  }

  /** Whether the events after `id` may be gone: the stream no longer reaches back to it (BullMQ trims it). */
  private async lost(role: string, id: string): Promise<boolean> {
    const oldest = await this.deps.feeds.oldestId(role);
    return oldest !== undefined && compareStreamIds(oldest, id) > 0;
  }

  private track(stream: SseStream, closer: () => void): SseStream {
    // A stream set up as the API started closing ends at once.
    if (this.closing) queueMicrotask(() => stream.end('shutdown'));
    this.streams.add(stream);
    stream.onClose(() => {
      this.streams.delete(stream);
      closer();
    });
    return stream;
  }

  /** Counts a stream against its key's SSE_MAX_STREAMS_PER_KEY (in this process); the returned function gives it back. */
  private admit(principal: Principal): () => void {
    const count = this.open.get(principal.keyId) ?? 0;
    if (count >= this.deps.limits.maxStreamsPerKey) {
      throw new ApiError('TOO_MANY_STREAMS', `at most ${this.deps.limits.maxStreamsPerKey} open event streams per key (SSE_MAX_STREAMS_PER_KEY)`, {
        limit: this.deps.limits.maxStreamsPerKey,
      });
    }
    this.open.set(principal.keyId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(principal.keyId) ?? 1) - 1;
      if (left === 0) this.open.delete(principal.keyId);
      else this.open.set(principal.keyId, left);
    };
  }
}

/**
 * Runs a stream's work one step at a time, in order (an event read from the store must not be
 * overtaken by the next); refuses more than MAX_PENDING waiting steps. A step may add steps of
 * its own (pushNow: a replay's events), which run right after it, before anything pushed
 * meanwhile (the live events that came during the replay). A step that fails (Redis away) calls
 * `onError`: the stream ends, and its client resumes from its last event rather than miss one.
 */
class Sequencer {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private nested: (() => Promise<void>)[] | undefined;

  constructor(private readonly onError: () => void) {}

  push(step: () => Promise<void>): boolean {
    if (this.pending >= MAX_PENDING) return false;
    this.pending += 1;
    this.tail = this.tail.then(async () => {
      const nested: (() => Promise<void>)[] = [];
      this.nested = nested;
      try {
        await step();
      } catch {
        this.onError();
      } finally {
        this.nested = undefined;
      }
      for (const next of nested) await next().catch(() => this.onError());
      this.pending -= 1;
    });
    return true;
  }

  /** From inside a running step: run `step` right after it. */
  pushNow(step: () => Promise<void>): void {
    if (!this.nested) throw new Error('Sequencer.pushNow outside a step');
    this.nested.push(step);
  }

  /**
   * Holds every step pushed after this one until the returned function is called; what it is
   * called with runs first, as a step (so it may pushNow).
   */
  gate(): (first: () => Promise<void> | void) => void {
    let open!: (first: () => Promise<void> | void) => void;
    const opened = new Promise<() => Promise<void> | void>((resolve) => (open = resolve));
    this.push(async () => {
      const first = await opened;
      await first();
    });
    return (first) => open(first);
  }
}

/** Redis' clock, ms (stream ids are made from it). */
async function redisTimeMs(redis: RedisClient): Promise<number> {
  const [seconds, micros] = (await redis.time()) as [string | number, string | number];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

function snapshotOf(view: TaskView) {
  return {
    taskId: view.id,
    role: view.role,
    state: view.state,
    at: view.history.at(-1)?.at ?? view.createdAt,
    ...(view.state === 'completed' ? { result: view.result } : {}),
    ...(view.error ? { error: view.error } : {}),
  };
}

function parseFanInId(id: string): { role: string; id: string; floorMs: number } | undefined {
  const [role, streamId, floor] = id.split('/');
  if (!role || !streamId || !floor || !isStreamId(streamId) || !/^\d{1,16}$/.test(floor)) return undefined;
  return { role, id: streamId, floorMs: Number(floor) };
}

function badLastEventId(message: string): ApiError {
  return new ApiError('VALIDATION_FAILED', 'Last-Event-ID is not an id this stream gave out', [{ field: 'headers.last-event-id', message }]);
}
