import { createHash } from 'node:crypto';

/**
 * A task id for `role` that follows from `seed` (a parent's id and a child's place under it, or a
 * schedule and its slot): the same seed gives the same id, so work made again (a parent's attempt
 * cut short after it added its children, a schedule's run taken twice) adds nothing twice:
 * BullMQ keeps a job whose id exists. The UUID part is the seed's SHA-256 in the shape of a
 * name-based UUID (version 8, RFC 9562). A child's id is as unguessable as its parent's; a
 * schedule run's follows from the schedule's internal id and slot, which its tenant knows (task
 * reads check the tenant, so knowing an id shows nothing).
 */
export function derivedTaskId(role: string, seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${role}_${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
