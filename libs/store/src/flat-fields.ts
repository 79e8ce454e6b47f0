/** A flat field-value reply (HGETALL's, a stream entry's) as an object. */
export function fieldsOfFlat(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let at = 0; at + 1 < flat.length; at += 2) fields[flat[at]!] = flat[at + 1]!;
  return fields;
}
