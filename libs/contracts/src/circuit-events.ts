import { z } from 'zod';
import { RoleNameSchema } from './identifiers';

/**
 * A transition one replica made, published on TaskyardKeys.breakerChannel so every other replica
 * of the role follows it. Only `open` and `closed` travel: half-open follows from `until` by itself.
 */
export const CircuitEventSchema = z.discriminatedUnion('to', [
  z.object({ role: RoleNameSchema, to: z.literal('open'), until: z.number().int(), origin: z.string(), reason: z.string() }),
  z.object({ role: RoleNameSchema, to: z.literal('closed'), origin: z.string(), reason: z.string() }),
]);
export type CircuitEvent = z.infer<typeof CircuitEventSchema>;

export function encodeCircuitEvent(event: CircuitEvent): string {
  return JSON.stringify(event);
}

/** The event in a pub/sub message; undefined for anything else (a foreign or garbled message is ignored). */
export function parseCircuitEvent(message: string): CircuitEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch {
    return undefined;
  }
  const parsed = CircuitEventSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
