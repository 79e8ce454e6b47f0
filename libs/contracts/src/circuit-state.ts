import { z } from 'zod';

/**
 * A role's circuit as every replica and the API see it:
 * - `closed`: tasks run;
 * - `open`: no replica takes the role's jobs until the reset timeout has passed;
 * - `half-open`: the reset timeout has passed and one probe task decides between closing and reopening.
 */
export const CircuitStateSchema = z.enum(['closed', 'open', 'half-open']);
export type CircuitState = z.infer<typeof CircuitStateSchema>;

/** The value of the `taskyard_circuit_state` gauge for each state (ordered by severity). */
export const CIRCUIT_GAUGE_VALUE: Readonly<Record<CircuitState, number>> = Object.freeze({ closed: 0, 'half-open': 1, open: 2 });

/**
 * What Redis holds for an open circuit (the hash at TaskyardKeys.breaker(role)); no key means
 * closed. Only the open period is stored: half-open is derived from it (`until` has passed),
 * so the state can never be stuck in half-open when the probe's replica dies.
 */
export interface SharedCircuit {
  /** Epoch ms the circuit opened. */
  openedAt: number;
  /** Epoch ms the open period ends; from then on the circuit is half-open. */
  until: number;
  /** The replica (worker name) that opened it. */
  origin: string;
  /** Why it opened, for people reading the key. */
  reason: string;
}

/** The hash fields of an open circuit, ready for HSET. */
export function sharedCircuitFields(circuit: SharedCircuit): Record<keyof SharedCircuit, string> {
  return { openedAt: String(circuit.openedAt), until: String(circuit.until), origin: circuit.origin, reason: circuit.reason };
}

/** The fields HMGET returns, in this order. */
export const SHARED_CIRCUIT_FIELDS = ['openedAt', 'until', 'origin', 'reason'] as const;

/** Reads HMGET's answer for SHARED_CIRCUIT_FIELDS; undefined when there is no (valid) open record. */
export function parseSharedCircuit(values: readonly (string | null)[]): SharedCircuit | undefined {
  const [openedAt, until, origin, reason] = values;
  const openedAtMs = Number(openedAt);
  const untilMs = Number(until);
  if (openedAt == null || until == null || !Number.isFinite(openedAtMs) || !Number.isFinite(untilMs)) return undefined;
  return { openedAt: openedAtMs, until: untilMs, origin: origin ?? '', reason: reason ?? '' };
}

/** The state a shared record stands for at `now`. */
export function circuitStateAt(circuit: SharedCircuit | undefined, now: number): CircuitState {
  if (!circuit) return 'closed';
  return now < circuit.until ? 'open' : 'half-open';
}
