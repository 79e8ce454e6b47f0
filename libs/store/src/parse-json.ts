import type { z } from 'zod';

/** `raw` (a string Redis held) parsed as JSON and by `schema`; undefined when absent, not JSON, or not of the schema. */
export function parseStored<S extends z.ZodType>(schema: S, raw: string | null | undefined): z.infer<S> | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
