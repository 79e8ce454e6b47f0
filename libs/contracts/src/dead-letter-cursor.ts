import { decodeListCursor, encodeListCursor } from './list-cursor';

/** A place in the dead-letter list: the last dead letter of a page (its death time in ms and its id). */
export interface DeadLetterPosition {
  deadAtMs: number;
  id: string;
}

export function encodeDeadLetterCursor(position: DeadLetterPosition): string {
  return encodeListCursor({ ms: position.deadAtMs, id: position.id });
}

/** The position in a cursor, or undefined when it is not one this API made. */
export function decodeDeadLetterCursor(cursor: string): DeadLetterPosition | undefined {
  const place = decodeListCursor(cursor);
  return place && { deadAtMs: place.ms, id: place.id };
}
