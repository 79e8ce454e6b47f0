/**
 * The one cursor format of Taskyard's newest-first lists (dead letters, tasks, broadcasts): a
 * place as a time in ms and an id, opaque to clients (base64url JSON), so its format can change;
 * a place keeps working when entries before it go, unlike an offset.
 */
export interface ListPlace {
  ms: number;
  id: string;
}

export function encodeListCursor({ ms, id }: ListPlace): string {
  return Buffer.from(JSON.stringify([ms, id])).toString('base64url');
}

/** The place in a cursor, or undefined when it is not one this API made (`emptyId`: a list whose places may end a millisecond). */
export function decodeListCursor(cursor: string, { emptyId = false }: { emptyId?: boolean } = {}): ListPlace | undefined {
  if (!/^[\w-]+$/.test(cursor)) return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 2) return undefined;
    const [ms, id] = decoded as [unknown, unknown];
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) return undefined;
    if (typeof id !== 'string' || (id.length === 0 && !emptyId) || id.length > 128) return undefined;
    return { ms, id };
  } catch {
    return undefined;
  }
}
