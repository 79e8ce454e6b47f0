import { createHash } from 'node:crypto';

/**
 * A task id for `role` that follows from `seed` (a parent's id and a child's place under it):
 * the same seed gives the same id, so a parent that adds its children again (its attempt was cut
 * short after the add) adds none twice: BullMQ keeps a job whose id exists. The UUID part is the
 * seed's SHA-256 in the shape of a name-based UUID (version 8, RFC 9562), as unguessable as the
 * parent's own id it starts from.
 */
export function derivedTaskId(role: string, seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${role}_${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
