import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { MessageSignatureSchema } from './envelope';
import { RoleNameSchema } from './identifiers';

/** pino's levels, as LOG_LEVEL and `set-log-level` take them. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LogLevelSchema = z.enum(LOG_LEVELS);

/** The largest broadcast payload, as JSON: a broadcast is an instruction to every worker, not a carrier of data. */
export const MAX_BROADCAST_PAYLOAD_BYTES = 16_384;
/** The largest result one worker acknowledges a broadcast with, as JSON (a larger one is acknowledged with an error). */
export const MAX_BROADCAST_RESULT_BYTES = 16_384;
/** The most workers one `drain` may name. */
export const MAX_DRAIN_WORKERS = 100;
export const MAX_BROADCAST_PAGE = 100;
export const DEFAULT_BROADCAST_PAGE = 20;

/** A worker process's id in the registry (`<host>:<pid>:<random>`), as WorkerEntrySchema has it. */
export const WorkerIdSchema = z.string().min(1).max(300);

/**
 * The broadcast types every worker process understands, with their payloads. `pause-role` and
 * `resume-role` pause and resume the role's BullMQ queue (done by the API when it accepts the
 * broadcast: every worker, a later one too, follows the queue); each worker acknowledges with its
 * tasks of the role still running. `set-log-level` sets the level of every worker, or of one
 * role's lines, stored so a worker that starts later takes it too. `drain` makes the workers it
 * names (or every one) finish their active tasks and exit, as on SIGTERM.
 */
export const BUILT_IN_BROADCASTS = {
  'pause-role': z.object({ role: RoleNameSchema }).strict(),
  'resume-role': z.object({ role: RoleNameSchema }).strict(),
  'set-log-level': z.object({ level: LogLevelSchema, role: RoleNameSchema.optional() }).strict(),
  drain: z.object({ workerIds: z.array(WorkerIdSchema).min(1).max(MAX_DRAIN_WORKERS).optional() }).strict(),
} as const;

export type BuiltInBroadcastType = keyof typeof BUILT_IN_BROADCASTS;
export type BuiltInBroadcastPayload<T extends BuiltInBroadcastType> = z.output<(typeof BUILT_IN_BROADCASTS)[T]>;

/** Whether `type` is one of the built-in broadcast types. */
export function isBuiltInBroadcast(type: string): type is BuiltInBroadcastType {
  return Object.hasOwn(BUILT_IN_BROADCASTS, type);
}

/** A broadcast type: lower-case words joined by "." or "-" (a role's own types, e.g. `cache.flush`, may not reuse a built-in's name). */
export const BroadcastTypeSchema = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/, 'a broadcast type is lower-case words joined by "." or "-"');

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** A broadcast id is `bc_` and a random UUID. */
export const BroadcastIdSchema = z.string().regex(new RegExp(`^bc_${UUID}$`), 'a broadcast id is bc_<uuid>');

export function newBroadcastId(): string {
  return `bc_${randomUUID()}`;
}

/** POST /v1/broadcasts: the payload is checked against its type's schema by the API (a built-in's, or the handling roles'). */
export const CreateBroadcastBodySchema = z
  .object({
    type: BroadcastTypeSchema,
    payload: z.unknown().optional(),
  })
  .strict();
export type CreateBroadcastBody = z.infer<typeof CreateBroadcastBodySchema>;

export const BroadcastAcceptedSchema = z.object({ id: BroadcastIdSchema });

/** What a broadcast asks, as it is signed (the API's signing key: Redis is a trust boundary here too). */
export const BroadcastContentSchema = z.object({
  id: BroadcastIdSchema,
  type: BroadcastTypeSchema,
  payload: z.unknown(),
  createdAt: z.iso.datetime(),
  /** The workers that should acknowledge it: the live ones of the registry when it was made (see the README). */
  expected: z.array(WorkerIdSchema),
});
export type BroadcastContent = z.infer<typeof BroadcastContentSchema>;

/** What Redis keeps of a broadcast: its content and the signature over it. */
export const BroadcastRecordSchema = BroadcastContentSchema.extend({ signature: MessageSignatureSchema });
export type BroadcastRecord = z.infer<typeof BroadcastRecordSchema>;

/** The members a broadcast's signature covers, marked so no signed broadcast reads as anything else. */
export function signedBroadcastContent(content: BroadcastContent): Record<string, unknown> {
  const { id, type, payload, createdAt, expected } = content;
  return { kind: 'broadcast', id, type, payload: payload ?? null, createdAt, expected };
}

/** Why a worker could not apply a broadcast (a custom handler threw or timed out, its result was too large). */
export const BroadcastAckErrorSchema = z.object({ code: z.string(), message: z.string(), role: RoleNameSchema.optional() });

/** One worker's acknowledgement: when it applied the broadcast, what it answers (by type), and what went wrong. */
export const BroadcastAckSchema = z.object({
  workerId: WorkerIdSchema,
  at: z.iso.datetime(),
  result: z.unknown().optional(),
  error: BroadcastAckErrorSchema.optional(),
});
export type BroadcastAck = z.infer<typeof BroadcastAckSchema>;

export const BroadcastViewSchema = z.object({
  id: BroadcastIdSchema,
  type: BroadcastTypeSchema,
  payload: z.unknown(),
  createdAt: z.iso.datetime(),
  expected: z.array(WorkerIdSchema),
  /** The acknowledgements so far, oldest first. */
  acks: z.array(BroadcastAckSchema),
});
export type BroadcastView = z.infer<typeof BroadcastViewSchema>;

export const BroadcastIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

export const BroadcastListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(MAX_BROADCAST_PAGE).default(DEFAULT_BROADCAST_PAGE),
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict();

export const BroadcastListSchema = z.object({ items: z.array(BroadcastViewSchema), nextCursor: z.string().nullable() });
export type BroadcastList = z.infer<typeof BroadcastListSchema>;

/**
 * The stored log levels (set by `set-log-level`), read by every worker when it starts and after
 * a reconnect: the deployment's level (`all`), and levels of single roles' lines.
 */
export interface LogLevelState {
  readonly all: LogLevel | undefined;
  readonly roles: Readonly<Record<string, LogLevel>>;
}
