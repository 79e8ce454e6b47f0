import { Queue, type RepeatOptions } from 'bullmq';
import { parseExpression } from 'cron-parser';
import { SCHEDULE_RUNS_KEPT, ScheduleRecordSchema, ScheduleRunSchema, type ScheduleRecord, type ScheduleRun, type ScheduleView } from '@taskyard/contracts';
import { parseStored } from './parse-json';
import type { RedisClient } from './redis-client';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/** The job a schedule's BullMQ job scheduler makes for each slot: the schedule to fire. */
export interface FireJobData {
  schedule: string;
}

/** The name of the jobs a schedule's job scheduler makes. */
export const FIRE_JOB_NAME = 'fire';

/**
 * Schedules (POST /v1/schedules): each is a BullMQ job scheduler on one internal queue, whose
 * jobs say "fire schedule X for slot T"; a worker turns each into an ordinary signed task (see the
 * workers' ScheduleRunner). Taskyard keeps the definition beside it (role, payload, options,
 * owner, tenant) and the last runs; everything is in one hash slot (`<prefix>{~schedules}`).
 * A schedule's internal id joins its tenant and its id, so two tenants may both have "nightly".
 */
export class ScheduleStore {
  readonly queue: Queue;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
  ) {
    this.queue = new Queue(keys.schedulesQueueName, { connection: redis, prefix: keys.schedulesPrefix });
    this.queue.on('error', () => undefined);
  }

  /** The internal id of schedule `id` of `tenant` (none: an operator's): `-.<id>` or `t<base64url tenant>.<id>`. */
  static internalId(tenant: string | undefined, id: string): string {
    return `${tenantSpace(tenant)}${id}`;
  }

  /** Why BullMQ's cron parser refuses `cron` (in `tz`), or undefined when it takes it. */
  static cronProblem(cron: string, tz: string | undefined): string | undefined {
    try {
      parseExpression(cron, { tz: tz ?? 'UTC' }).next();
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  async read(internalId: string): Promise<ScheduleRecord | undefined> {
    return parseRecord(await this.redis.get(this.keys.schedule(internalId)));
  }

  /**
   * Writes the definition first (a run reads it), then upserts BullMQ's job scheduler (its
   * timing). A changed timing starts where the old one leaves off: BullMQ starts a new `every` at
   * once, which would run the schedule twice within moments; a new `every` starts one new `every`
   * after the last run, any other change at the run that was pending.
   */
  async upsert(internalId: string, record: ScheduleRecord): Promise<void> {
    const previous = await this.queue.getJobScheduler(internalId);
    await this.redis.multi().set(this.keys.schedule(internalId), JSON.stringify(record)).zadd(this.keys.scheduleIndex, 0, internalId).exec();
    const timingChanged = previous?.next !== undefined && (previous.every !== record.every || (previous.pattern ?? undefined) !== record.cron || (previous.tz ?? 'UTC') !== (record.tz ?? 'UTC'));
    if (!timingChanged) return this.upsertScheduler(internalId, record);
    const pending = previous.next!;
    const resumeAt = previous.every && record.every ? pending - Number(previous.every) + record.every : pending;
    const startAt = Math.max(resumeAt, record.startAt ? Date.parse(record.startAt) : 0);
    await this.upsertScheduler(internalId, record, startAt);
    // The pending run may have come due and been taken while this changed the timing (BullMQ's
    // upsert removes it only while it waits): then it was the last old run, and the new every
    // starts one new every after it.
    if (previous.every && record.every && startAt === resumeAt) {
      const taken = await this.queue.getJobState(`repeat:${internalId}:${pending}`);
      if (taken === 'active' || taken === 'completed' || taken === 'failed') await this.upsertScheduler(internalId, record, pending + record.every);
    }
  }

  /** How many schedules a tenant (none: the operators') has. */
  countOf(tenant: string | undefined): Promise<number> {
    const space = tenantSpace(tenant);
    return this.redis.zlexcount(this.keys.scheduleIndex, `[${space}`, `(${afterSpace(space)}`);
  }

  /** The schedule with its next run and last runs, or undefined. */
  async view(internalId: string): Promise<ScheduleView | undefined> {
    const [record] = await this.views([internalId]);
    return record;
  }

  /**
   * A page of schedules, by internal id: a tenant's (`tenant` given) or everyone's (`all`). The
   * cursor is the last internal id of the page before.
   */
  async list(scope: { tenant: string | undefined } | 'all', limit: number, after: string | undefined): Promise<{ items: ScheduleView[]; last: string | undefined }> {
    const space = scope === 'all' ? '' : tenantSpace(scope.tenant);
    const from = after !== undefined && after.startsWith(space) ? `(${after}` : space === '' ? '-' : `[${space}`;
    const to = space === '' ? '+' : `(${afterSpace(space)}`;
    const ids = await this.redis.zrangebylex(this.keys.scheduleIndex, from, to, 'LIMIT', 0, limit + 1);
    const page = ids.slice(0, limit);
    const items = (await this.views(page)).filter((view): view is ScheduleView => view !== undefined);
    return { items, last: ids.length > limit ? page.at(-1) : undefined };
  }

  /** Removes the schedule: its job scheduler (its pending run), its definition, its runs. True when there was one. */
  async remove(internalId: string): Promise<boolean> {
    await this.queue.removeJobScheduler(internalId);
    const replies = await this.redis.multi().del(this.keys.schedule(internalId)).del(this.keys.scheduleRuns(internalId)).zrem(this.keys.scheduleIndex, internalId).exec();
    return replies?.[0]?.[1] === 1;
  }

  /**
   * Records a run, once per slot (the last SCHEDULE_RUNS_KEPT kept), and only while the schedule
   * exists (a run racing a delete leaves nothing behind). False when its slot has a run already:
   * the same run taken twice (a stalled job taken again), whose task BullMQ did not add again.
   */
  async recordRun(internalId: string, run: ScheduleRun): Promise<boolean> {
    const slot = Date.parse(run.scheduledFor);
    const recorded = await withScripts(this.redis).taskyardRecordScheduleRun(this.keys.scheduleRuns(internalId), this.keys.schedule(internalId), slot, JSON.stringify(run), SCHEDULE_RUNS_KEPT);
    return recorded === 1;
  }

  /**
   * Puts back the pending run of every schedule that lost it. BullMQ adds a scheduler's next job
   * from the worker, just after it took the current one: a worker killed in between leaves the
   * schedule without one until its job stalls and is taken again. Re-upserting is idempotent
   * (BullMQ keeps a pending slot, and a slot's task id is fixed). Answers how many it repaired.
   */
  async reconcile(): Promise<number> {
    let repaired = 0;
    let cursor = '-';
    for (;;) {
      const ids = await this.redis.zrangebylex(this.keys.scheduleIndex, cursor, '+', 'LIMIT', 0, 100);
      for (const internalId of ids) {
        if (await this.hasPendingRun(internalId)) continue;
        const record = await this.read(internalId);
        if (!record || ended(record)) continue;
        await this.upsertScheduler(internalId, record);
        repaired++;
      }
      if (ids.length < 100) return repaired;
      cursor = `(${ids.at(-1)!}`;
    }
  }

  close(): Promise<void> {
    return this.queue.close();
  }

  /**
   * Whether the scheduler's next run is waiting to be taken. A worker killed between taking a run
   * and adding the next leaves `next` pointing at the run it took (active, then stalled), with no
   * later one: that is the case to repair. (In the moment between a live worker's take and its
   * add, a repair adds the same next slot, which BullMQ keeps once.)
   */
  private async hasPendingRun(internalId: string): Promise<boolean> {
    const scheduler = await this.queue.getJobScheduler(internalId);
    if (!scheduler?.next) return false;
    const state = await this.queue.getJobState(`repeat:${internalId}:${scheduler.next}`);
    return state === 'delayed' || state === 'waiting' || state === 'prioritized';
  }

  private async upsertScheduler(internalId: string, record: ScheduleRecord, startAt?: number): Promise<void> {
    const startDate = startAt ?? (record.startAt ? Date.parse(record.startAt) : undefined);
    const repeat: Omit<RepeatOptions, 'key'> = {
      ...(record.every !== undefined ? { every: record.every } : { pattern: record.cron!, tz: record.tz ?? 'UTC' }),
      ...(startDate !== undefined ? { startDate } : {}),
      ...(record.endAt ? { endDate: record.endAt } : {}),
    };
    const data: FireJobData = { schedule: internalId };
    await this.queue.upsertJobScheduler(internalId, repeat, {
      name: FIRE_JOB_NAME,
      data,
      // A run that cannot enqueue (Redis full, a full queue) is tried again; the slot's task id stays the same.
      opts: { attempts: 5, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: { age: 86_400 } },
    });
  }

  private async views(internalIds: readonly string[]): Promise<(ScheduleView | undefined)[]> {
    return Promise.all(
      internalIds.map(async (internalId) => {
        const [raw, runs, scheduler] = await Promise.all([
          this.redis.get(this.keys.schedule(internalId)),
          this.redis.zrevrange(this.keys.scheduleRuns(internalId), 0, SCHEDULE_RUNS_KEPT - 1),
          this.queue.getJobScheduler(internalId),
        ]);
        const record = parseRecord(raw);
        if (!record) return undefined;
        const next = scheduler?.next && !ended(record) ? new Date(scheduler.next).toISOString() : null;
        return { ...record, nextRunAt: next, lastRuns: runs.flatMap(parseRun) };
      }),
    );
  }
}

function tenantSpace(tenant: string | undefined): string {
  return tenant === undefined ? '-.' : `t${Buffer.from(tenant, 'utf8').toString('base64url')}.`;
}

/** The first string after every string starting with `space` (which ends with "."). */
function afterSpace(space: string): string {
  return `${space.slice(0, -1)}/`;
}

function ended(record: ScheduleRecord): boolean {
  return record.endAt !== undefined && Date.parse(record.endAt) < Date.now();
}

function parseRecord(raw: string | null): ScheduleRecord | undefined {
  return parseStored(ScheduleRecordSchema, raw);
}

function parseRun(raw: string): ScheduleRun[] {
  const run = parseStored(ScheduleRunSchema, raw);
  return run ? [run] : [];
}
