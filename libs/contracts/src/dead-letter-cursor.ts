/**
 * A list position: the last dead letter of a page (its death time in ms and its id). Opaque to
 * clients (base64url JSON) so its format can change; a position keeps working when dead letters
 * before it are replayed or deleted, unlike an offset.
 */
export interface DeadLetterPosition {
  deadAtMs: number;
  id: string;
}

export function encodeDeadLetterCursor(position: DeadLetterPosition): string {
  return Buffer.from(JSON.stringify([position.deadAtMs, position.id])).toString('base64url');
}

/** The position in a cursor, or undefined when it is not one this API made. */
export function decodeDeadLetterCursor(cursor: string): DeadLetterPosition | undefined {
  if (!/^[\w-]+$/.test(cursor)) return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 2) return undefined;
    const [deadAtMs, id] = decoded as [unknown, unknown];
    if (typeof deadAtMs !== 'number' || !Number.isSafeInteger(deadAtMs) || deadAtMs < 0) return undefined;
    if (typeof id !== 'string' || id.length === 0 || id.length > 128) return undefined;
    return { deadAtMs, id };
  } catch {
    return undefined;
  }
}
