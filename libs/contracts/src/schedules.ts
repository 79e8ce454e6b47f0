import { z } from 'zod';
import { RoleNameSchema, TaskIdSchema, TenantSchema } from './identifiers';
import { ROLE_SETTING_BOUNDS } from './role-settings';
import { MAX_PRIORITY } from './task-api';

/** The shortest and longest `every` a schedule may have: one second, one year. */
export const MIN_SCHEDULE_EVERY_MS = 1000;
export const MAX_SCHEDULE_EVERY_MS = 366 * 86_400_000;
/** How many of a schedule's last runs it keeps (GET /v1/schedules/:id). */
export const SCHEDULE_RUNS_KEPT = 20;
export const MAX_SCHEDULE_PAGE = 200;
export const DEFAULT_SCHEDULE_PAGE = 50;

/** A schedule's id, chosen by its client: lower-case letters, digits, `.`, `_`, `-` (it names its runs' source `schedule:<id>`). */
export const ScheduleIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a schedule id is 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit');

/** What each run's task takes besides its payload. */
export const ScheduleTaskOptionsSchema = z
  .object({
    attempts: ROLE_SETTING_BOUNDS.attempts.optional(),
    priority: z.number().int().min(1).max(MAX_PRIORITY).optional(),
  })
  .strict();

/** A cron expression as BullMQ's job schedulers read it (5 or 6 fields; checked again by the cron parser). */
const CronSchema = z.string().trim().min(9).max(120);

export const UpsertScheduleBodySchema = z
  .object({
    id: ScheduleIdSchema,
    role: RoleNameSchema,
    payload: z.unknown(),
    /** Run every this many milliseconds (1 s to 366 days), or … */
    every: z.number().int().min(MIN_SCHEDULE_EVERY_MS).max(MAX_SCHEDULE_EVERY_MS).optional(),
    /** … on a cron expression, in `tz` (an IANA time zone; default UTC). */
    cron: CronSchema.optional(),
    tz: z.string().min(1).max(64).optional(),
    /** No run before `startAt`, none after `endAt`. */
    startAt: z.iso.datetime().optional(),
    endAt: z.iso.datetime().optional(),
    options: ScheduleTaskOptionsSchema.optional(),
    /** An operator key may schedule for a tenant; a tenant key's schedules are its tenant's. */
    tenant: TenantSchema.optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if ((body.every === undefined) === (body.cron === undefined)) {
      ctx.addIssue({ code: 'custom', path: [body.every === undefined ? 'every' : 'cron'], message: 'give exactly one of every (ms) and cron' });
    }
    if (body.tz !== undefined && body.cron === undefined) ctx.addIssue({ code: 'custom', path: ['tz'], message: 'tz is for cron schedules' });
    if (body.tz !== undefined && !isTimeZone(body.tz)) ctx.addIssue({ code: 'custom', path: ['tz'], message: 'not an IANA time zone' });
    if (body.startAt !== undefined && body.endAt !== undefined && Date.parse(body.endAt) <= Date.parse(body.startAt)) {
      ctx.addIssue({ code: 'custom', path: ['endAt'], message: 'endAt must be after startAt' });
    }
  });
export type UpsertScheduleBody = z.infer<typeof UpsertScheduleBodySchema>;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** One run of a schedule: the task it made for its slot, or why it made none. */
export const ScheduleRunSchema = z.object({
  /** The slot: when the run was due. */
  scheduledFor: z.iso.datetime(),
  firedAt: z.iso.datetime(),
  taskId: TaskIdSchema.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type ScheduleRun = z.infer<typeof ScheduleRunSchema>;

/** What Redis keeps of a schedule (its definition; BullMQ's job scheduler keeps its timing). */
export const ScheduleRecordSchema = z.object({
  id: ScheduleIdSchema,
  role: RoleNameSchema,
  payload: z.unknown(),
  every: z.number().int().optional(),
  cron: z.string().optional(),
  tz: z.string().optional(),
  startAt: z.iso.datetime().optional(),
  endAt: z.iso.datetime().optional(),
  options: ScheduleTaskOptionsSchema.optional(),
  tenant: z.string().optional(),
  /** The API key that last upserted it: its runs' owner. */
  owner: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type ScheduleRecord = z.infer<typeof ScheduleRecordSchema>;

export const ScheduleViewSchema = ScheduleRecordSchema.extend({
  /** When the next run is due (none once `endAt` passed). */
  nextRunAt: z.iso.datetime().nullable(),
  /** The last runs, newest first. */
  lastRuns: z.array(ScheduleRunSchema),
});
export type ScheduleView = z.infer<typeof ScheduleViewSchema>;

export const ScheduleListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(MAX_SCHEDULE_PAGE).default(DEFAULT_SCHEDULE_PAGE),
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict();

export const ScheduleListSchema = z.object({ items: z.array(ScheduleViewSchema), nextCursor: z.string().nullable() });

export const ScheduleParamsSchema = z.object({ id: z.string().min(1).max(128) });
/** An operator key names the tenant of the schedule it means (`?tenant=`); a tenant key's is its own. */
export const ScheduleTenantQuerySchema = z.object({ tenant: TenantSchema.optional() }).strict();
