import { RateLimitError, Worker } from 'bullmq';

/**
 * A job this replica fetched while its role's circuit is open (or another replica's probe is
 * running) goes back to the front of the queue untouched. BullMQ's RateLimitError is the one
 * failure that does that without counting an attempt (Worker.handleFailed → moveToWait), and it
 * makes this worker wait out the queue's limiter before fetching again.
 */
export function handBackError(): Error {
  return Worker.RateLimitError();
}

/** True for the error of a handed-back job: the processor must rethrow it untouched (no attempt record, no metrics). */
export function isHandBack(err: unknown): boolean {
  return err instanceof RateLimitError;
}

/** When a replica hands a job back, and what decides how long every replica then keeps off the queue. */
export type HandBackCase =
  /** This replica sees the circuit open: `until` ends the shared open period, `halfOpenAt` this replica's own reset timer. */
  | { circuit: 'open'; until: number; halfOpenAt: number }
  /** Half-open and the probe is someone else's (or this replica's, still running). */
  | { circuit: 'probing' };

/**
 * How long every replica should keep off the queue after a hand back:
 * - open: the rest of the shared open period; once it has passed, until this replica's reset
 *   timer fires (it follows the replica that opened by a few milliseconds), at most `probeWaitMs`;
 * - probing: `probeWaitMs`, then look again.
 * At least 1 ms: Redis rejects PX 0.
 */
export function handBackDelayMs(handBack: HandBackCase, now: number, probeWaitMs: number): number {
  if (handBack.circuit === 'probing') return Math.max(1, Math.ceil(probeWaitMs));
  const remaining = handBack.until - now;
  const wait = remaining > 0 ? remaining : Math.min(probeWaitMs, handBack.halfOpenAt - now);
  return Math.max(1, Math.ceil(wait));
}

/** How often replicas look again while another replica's probe runs: at most every second, sooner for short reset timeouts. */
export function probeWaitMs(resetTimeoutMs: number): number {
  return Math.min(1000, resetTimeoutMs);
}

/**
 * The worker limiter of a role with a breaker but no rate limit of its own. BullMQ honours a
 * queue's limiter key (which the open circuit sets) only for workers that have a limiter; this
 * one is far above any real rate, so it never limits by itself.
 */
export const CIRCUIT_ONLY_LIMITER = Object.freeze({ max: 1_000_000_000, duration: 1000 });
