import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  BroadcastTypeSchema,
  BUILT_IN_BROADCASTS,
  isBuiltInBroadcast,
  jsonDepthExceeds,
  MAX_BROADCAST_PAYLOAD_BYTES,
  toIssues,
  type BuiltInBroadcastType,
} from '@taskyard/contracts';
import type { AnyRole } from './define-role';

/** What a role's broadcast handler gets besides the payload. */
export interface BroadcastContext {
  readonly broadcastId: string;
  /** This worker process's id in the registry. */
  readonly workerId: string;
  /** The role whose handler this is. */
  readonly role: string;
  /** The role's logger, bound to the broadcast's id and type. */
  readonly log: Logger;
  /** Fires at the role's timeout: the worker then acknowledges with a TIMEOUT error. */
  readonly signal: AbortSignal;
}

/**
 * A role's handler of one broadcast type: the payload's schema (checked by the API before the
 * broadcast is accepted, and by the worker again) and what each worker process running the role
 * does. Its answer (JSON, at most MAX_BROADCAST_RESULT_BYTES) is the worker's acknowledgement.
 * A worker may get a broadcast more than once (at least once, e.g. after a lost
 * acknowledgement), so a handler should be idempotent.
 */
export interface BroadcastHandler<P extends z.ZodType = z.ZodType> {
  readonly payload?: P;
  readonly handle: (payload: z.output<P>, ctx: BroadcastContext) => unknown;
}

/** What a handler's payload is: its schema's output, or unknown without a schema. */
type PayloadOfSchema<S> = S extends z.ZodType ? z.output<S> : unknown;

/**
 * A role's broadcast handlers by type, each typed by its own payload schema (`B` maps each type
 * to its schema, inferred per entry; an entry without a schema takes any payload).
 */
export type BroadcastHandlers<B> = {
  readonly [K in keyof B]: { readonly payload?: B[K] & z.ZodType; readonly handle: (payload: PayloadOfSchema<B[K]>, ctx: BroadcastContext) => unknown };
};

/** Any role's handlers, whatever their schemas. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyBroadcastHandlers = Readonly<Record<string, BroadcastHandler<any>>>;

/** What is wrong with a role's `onBroadcast` (names, built-in types, handlers). */
export function broadcastHandlerProblems(handlers: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const [type, handler] of Object.entries(handlers)) {
    if (!BroadcastTypeSchema.safeParse(type).success) problems.push(`onBroadcast.${type}: a broadcast type is lower-case words joined by "." or "-"`);
    if (isBuiltInBroadcast(type)) problems.push(`onBroadcast.${type}: a built-in broadcast type; a role cannot handle it`);
    const spec = handler as Partial<BroadcastHandler> | undefined;
    if (typeof spec?.handle !== 'function') problems.push(`onBroadcast.${type}: needs a handle function`);
    if (spec?.payload !== undefined && typeof (spec.payload as { safeParse?: unknown }).safeParse !== 'function') problems.push(`onBroadcast.${type}.payload: must be a zod schema`);
  }
  return problems;
}

/** One problem with a broadcast, as the API's VALIDATION_FAILED details name them. */
export interface BroadcastIssue {
  field: string;
  message: string;
}

/** A broadcast the API may accept: its payload as it will be stored, and the roles that handle it (none for a built-in). */
export type CheckedBroadcast =
  | { ok: true; kind: 'built-in'; type: BuiltInBroadcastType; payload: unknown }
  | { ok: true; kind: 'custom'; type: string; payload: unknown; roles: readonly string[] }
  | { ok: false; code: 'UNKNOWN_BROADCAST_TYPE' | 'VALIDATION_FAILED'; message: string; issues: BroadcastIssue[] };

/**
 * Checks a broadcast against the deployment's roles, as the API does before accepting one: a
 * built-in type's payload against its schema, and the roles it names against the registry; a
 * custom type against the schema of every role that handles it (each parses its own, so the
 * payload is stored as sent). A type nobody handles is refused.
 */
export function checkBroadcast(roles: readonly AnyRole[], type: string, payload: unknown): CheckedBroadcast {
  const size = Buffer.byteLength(JSON.stringify(payload ?? null), 'utf8');
  if (size > MAX_BROADCAST_PAYLOAD_BYTES || jsonDepthExceeds(payload)) {
    const message = `a broadcast payload is at most ${MAX_BROADCAST_PAYLOAD_BYTES} bytes of JSON (this one: ${size})`;
    return { ok: false, code: 'VALIDATION_FAILED', message: `payload: ${message}`, issues: [{ field: 'payload', message }] };
  }
  const names = new Set(roles.map((role) => role.name));
  if (isBuiltInBroadcast(type)) {
    const parsed = BUILT_IN_BROADCASTS[type].safeParse(payload ?? {});
    if (!parsed.success) return invalid(type, parsed.error);
    const role = (parsed.data as { role?: string }).role;
    if (role !== undefined && !names.has(role)) {
      const message = `no role "${role}" in this deployment`;
      return { ok: false, code: 'VALIDATION_FAILED', message: `payload.role: ${message}`, issues: [{ field: 'payload.role', message }] };
    }
    return { ok: true, kind: 'built-in', type, payload: parsed.data };
  }
  const handling = roles.filter((role) => Object.hasOwn(role.onBroadcast, type));
  if (handling.length === 0) {
    const message = `no broadcast type "${type}": the built-in ones are ${Object.keys(BUILT_IN_BROADCASTS).join(', ')}, and no role handles it`;
    return { ok: false, code: 'UNKNOWN_BROADCAST_TYPE', message, issues: [{ field: 'type', message: 'unknown broadcast type' }] };
  }
  for (const role of handling) {
    const schema = (role.onBroadcast[type] as BroadcastHandler).payload;
    const parsed = schema?.safeParse(payload);
    if (parsed && !parsed.success) return invalid(`${type} (role ${role.name})`, parsed.error);
  }
  return { ok: true, kind: 'custom', type, payload: payload ?? null, roles: handling.map((role) => role.name) };
}

function invalid(what: string, error: z.ZodError): CheckedBroadcast {
  const issues = toIssues(error).map((issue) => ({ field: ['payload', issue.path].filter(Boolean).join('.'), message: issue.message }));
  const summary = issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
  return { ok: false, code: 'VALIDATION_FAILED', message: `the payload does not match broadcast type ${what} (${summary})`, issues };
}
