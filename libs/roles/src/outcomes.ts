import { MAX_TASK_DELAY_MS, PermanentTaskError, type ChildFailurePolicy, type WorkflowNode } from '@taskyard/contracts';

/** A string key, not a symbol: an outcome returned inside an isolated child crosses the IPC channel intact. */
const OUTCOME = 'taskyard:outcome';

/**
 * What a handler may return instead of its result, to say how its task goes on (Oban's
 * `{:snooze, s}` and `{:cancel, reason}`, River's JobSnooze/JobCancel):
 * - `snooze`: run the task again after `delayMs` without spending an attempt (the downstream is
 *   not ready yet, a rate window is closed). A task snoozes at most MAX_SNOOZES times.
 * - `cancel`: end the task now as `cancelled`, with a reason; no retry, no dead letter.
 * - `fan-out`: add `children` (tasks, each with children of its own if it likes) under this
 *   task and wait for them (BullMQ's waiting-children): the handler runs again once they are
 *   done and reads their results with `ctx.children()`.
 * A transient failure that knows when to try again throws TransientTaskError with `retryAfterMs`.
 */
export type HandlerOutcome =
  | { readonly [OUTCOME]: 'snooze'; readonly delayMs: number; readonly reason: string | undefined }
  | { readonly [OUTCOME]: 'cancel'; readonly reason: string }
  | { readonly [OUTCOME]: 'fan-out'; readonly children: readonly WorkflowNode[]; readonly onChildFailure: ChildFailurePolicy; readonly wave: number };

/** The most waves of children one task may fan out. */
export const MAX_FAN_OUT_WAVES = 1000;

/** How many times one task may snooze (deliveries that spend no attempt; a stalled delivery counts too). */
export const MAX_SNOOZES = 100;

/** Run this task again after `delayMs` (0 to 30 days), without spending an attempt. */
export function snooze(delayMs: number, reason?: string): HandlerOutcome {
  const bounded = Number.isFinite(delayMs) ? Math.min(MAX_TASK_DELAY_MS, Math.max(0, Math.round(delayMs))) : 0;
  return Object.freeze({ [OUTCOME]: 'snooze' as const, delayMs: bounded, reason });
}

/** End this task now as cancelled, with `reason`: no further attempt, no dead letter. */
export function cancel(reason: string): HandlerOutcome {
  return Object.freeze({ [OUTCOME]: 'cancel' as const, reason: String(reason).slice(0, 1000) || 'cancelled by its handler' });
}

/**
 * Add `children` under this task and wait for them (see HandlerOutcome); the nodes are plain
 * data (role names, payloads), so the outcome also crosses an isolated role's IPC channel.
 */
export function fanOut(children: readonly WorkflowNode[], onChildFailure: ChildFailurePolicy = 'fail', wave = 1): HandlerOutcome {
  // A wave out of range would silently be another wave's children: a handler's bug, said so.
  if (!Number.isInteger(wave) || wave < 1 || wave > MAX_FAN_OUT_WAVES) throw new PermanentTaskError(`fanOut: wave must be an integer from 1 to ${MAX_FAN_OUT_WAVES}, got ${String(wave)}`, 'FAN_OUT_INVALID');
  return Object.freeze({ [OUTCOME]: 'fan-out' as const, children, onChildFailure, wave });
}

export type Outcome =
  | { kind: 'snooze'; delayMs: number; reason: string | undefined }
  | { kind: 'cancel'; reason: string }
  | { kind: 'fan-out'; children: readonly WorkflowNode[]; onChildFailure: ChildFailurePolicy; wave: number };

/** The outcome a handler returned, or undefined when it returned a result. */
export function outcomeOf(value: unknown): Outcome | undefined {
  if (typeof value !== 'object' || value === null || !(OUTCOME in value)) return undefined;
  const outcome = value as HandlerOutcome;
  switch (outcome[OUTCOME]) {
    case 'snooze':
      return { kind: 'snooze', delayMs: outcome.delayMs, reason: outcome.reason };
    case 'cancel':
      return { kind: 'cancel', reason: outcome.reason };
    case 'fan-out':
      return { kind: 'fan-out', children: outcome.children, onChildFailure: outcome.onChildFailure, wave: outcome.wave };
    default:
      return undefined;
  }
}

/**
 * Milliseconds to wait from an HTTP `Retry-After` header (seconds or an HTTP date), for
 * `new TransientTaskError(message, code, { retryAfterMs: parseRetryAfter(header) })`; undefined
 * when there is none or it cannot be read.
 */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(MAX_TASK_DELAY_MS, Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.min(MAX_TASK_DELAY_MS, Math.max(0, at - now));
}
