import { MAX_JSON_DEPTH, TaskyardError } from '@taskyard/contracts';

export class JsonDepthError extends TaskyardError {
  constructor(readonly maxDepth: number) {
    super('JSON_TOO_DEEP', `value is nested deeper than ${maxDepth} levels`);
  }
}

/**
 * Deterministic JSON: object keys sorted, `undefined` members dropped, otherwise exactly
 * what JSON.stringify would write. Both the signer and the verifier use it, so a value that
 * made a JSON round trip through Redis serialises to the same bytes it was signed over.
 */
export function canonicalJson(value: unknown, maxDepth = MAX_JSON_DEPTH): string {
  // Messages are built with their keys in order (see envelope.ts), so most values are canonical
  // already: checking that is ~4x cheaper than writing them out member by member.
  return isCanonical(value, 0, maxDepth) ? JSON.stringify(value) : write(value, 0, maxDepth);
}

/**
 * True when JSON.stringify(value) is its canonical form: every object's keys sorted, no member
 * JSON.stringify would drop or rewrite (undefined, functions, symbols, toJSON), not too deep.
 */
function isCanonical(value: unknown, depth: number, maxDepth: number): boolean {
  if (value === null) return true;
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean') return true;
  if (type !== 'object' || depth >= maxDepth) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!isCanonical(value[i], depth + 1, maxDepth)) return false;
    }
    return true;
  }
  // Plain objects only: boxed primitives, dates and class instances take the careful path.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  const record = value as Record<string, unknown>;
  let previous: string | undefined;
  for (const key in record) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) return false;
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!isCanonical(record[key], depth + 1, maxDepth)) return false;
  }
  return true;
}

function write(value: unknown, depth: number, maxDepth: number): string {
  if (value === null || typeof value !== 'object') {
    // Numbers, strings, booleans, null; undefined/functions only occur inside containers.
    return JSON.stringify(value) ?? 'null';
  }
  if (depth >= maxDepth) throw new JsonDepthError(maxDepth);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined || typeof item === 'function' ? 'null' : write(item, depth + 1, maxDepth);
    }
    return out + ']';
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return write((value as { toJSON: () => unknown }).toJSON(), depth, maxDepth);
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined || typeof member === 'function') continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(key) + ':' + write(member, depth + 1, maxDepth);
  }
  return out + '}';
}
