import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PermanentTaskError, TransientTaskError } from '@taskyard/contracts';
import type { OnceClaims } from '@taskyard/store';

/** The longest `ctx.once` key (it becomes part of a Redis key). */
export const MAX_ONCE_KEY_LENGTH = 200;

/** Where a message's `once` entries live and how long they are held and kept (see ledgerTimings). */
export interface OnceScope {
  /** Where claims and results are kept (an isolated child has its own connection). */
  readonly claims: OnceClaims;
  readonly taskId: string;
  /** How long a live attempt may hold a claim; past it an unfinished claim is in doubt. */
  readonly holdMs: number;
  /** How long claims and results are kept. */
  readonly ttlMs: number;
}

/** Another attempt holds the claim and may still be running `fn`: retry later (the role's backoff applies). */
export class EffectInProgressError extends TransientTaskError {
  constructor(key: string) {
    super(`the effect "${key}" is being performed by another attempt of this task`, 'EFFECT_IN_PROGRESS');
  }
}

/**
 * The attempt that claimed the effect stopped without finishing it (its worker died inside `fn`):
 * the effect may or may not have happened, and running it again could do it twice. Permanent,
 * so the task ends failed (and goes to the dead letters) for a human to decide.
 */
export class EffectInDoubtError extends PermanentTaskError {
  constructor(key: string, claimedAt: number) {
    super(
      `the effect "${key}" was started at ${new Date(claimedAt).toISOString()} by an attempt that never finished it; it may or may not have happened`,
      'EFFECT_IN_DOUBT',
    );
  }
}

const OnceEntrySchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('claimed'), token: z.string(), claimedAt: z.number(), inDoubtAfter: z.number() }),
  z.object({ state: z.literal('done'), doneAt: z.number(), result: z.unknown().optional() }),
]);
type OnceEntry = z.infer<typeof OnceEntrySchema>;

/** How often a claim freed between our SET NX and our GET is tried again before giving up for now. */
const CLAIM_TRIES = 3;

/**
 * Runs `fn` at most once per (message, key), across attempts, redeliveries and replicas; the
 * engine behind `ctx.once`, usable with any Redis connection (an isolated child process has its
 * own).
 *
 * - The first caller claims the key (SET NX, kept for the ledger TTL, no short expiry that could
 *   free it while `fn` runs), runs `fn`, stores its JSON result and returns it.
 * - A later caller gets the stored result without running `fn` (the result goes through JSON
 *   for every caller alike, so all of them see the same value; `undefined` stays `undefined`).
 * - A caller that finds the claim held and unfinished throws EFFECT_IN_PROGRESS (transient,
 *   retried with backoff) while the holder may still be running (within `holdMs` of its claim),
 *   and EFFECT_IN_DOUBT (permanent) after that: the holder died inside `fn`.
 * - If `fn` throws, the effect is taken as not done: the claim is released and the error
 *   rethrown, so a retry may run `fn` again. A `fn` that can fail after its effect took place
 *   should catch that itself (or be idempotent downstream).
 * - A result that is not JSON (a BigInt, a cycle) still marks the effect done, and the caller
 *   gets ONCE_RESULT_NOT_JSON (permanent): the effect must not run again, and its result cannot
 *   be stored.
 */
export async function runOnce<T>(scope: OnceScope, key: string, fn: () => T | Promise<T>): Promise<T> {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_ONCE_KEY_LENGTH) {
    throw new PermanentTaskError(`ctx.once needs a key of 1 to ${MAX_ONCE_KEY_LENGTH} characters`, 'ONCE_KEY_INVALID');
  }
  for (let tries = 0; tries < CLAIM_TRIES; tries += 1) {
    const now = Date.now();
    const claim = JSON.stringify({ state: 'claimed', token: randomUUID(), claimedAt: now, inDoubtAfter: now + scope.holdMs } satisfies OnceEntry);
    if (await scope.claims.claim(scope.taskId, key, claim, scope.ttlMs)) return perform(scope, key, claim, fn);
    const found = parseEntry(await scope.claims.read(scope.taskId, key));
    if (found === 'missing') continue; // the holder's fn failed and it released the claim: try to claim again
    if (found === 'unreadable') throw new EffectInDoubtError(key, now);
    if (found.state === 'done') return found.result as T;
    if (Date.now() <= found.inDoubtAfter) throw new EffectInProgressError(key);
    throw new EffectInDoubtError(key, found.claimedAt);
  }
  throw new EffectInProgressError(key);
}

async function perform<T>(scope: OnceScope, key: string, claim: string, fn: () => T | Promise<T>): Promise<T> {
  let value: T;
  try {
    value = await fn();
  } catch (err) {
    await scope.claims.release(scope.taskId, key, claim);
    throw err;
  }
  let serialized: string | undefined;
  try {
    serialized = JSON.stringify(value);
  } catch {
    serialized = undefined;
  }
  const result: unknown = serialized === undefined ? undefined : JSON.parse(serialized);
  const done: OnceEntry = { state: 'done', doneAt: Date.now(), result };
  await scope.claims.write(scope.taskId, key, JSON.stringify(done), scope.ttlMs);
  if (serialized === undefined && value !== undefined) {
    throw new PermanentTaskError('the result of a ctx.once effect must be JSON; the effect is recorded as done', 'ONCE_RESULT_NOT_JSON');
  }
  return result as T;
}

function parseEntry(raw: string | null): OnceEntry | 'missing' | 'unreadable' {
  if (raw === null) return 'missing';
  try {
    const parsed = OnceEntrySchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : 'unreadable';
  } catch {
    return 'unreadable';
  }
}
