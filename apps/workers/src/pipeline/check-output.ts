import { SchemaError, toIssues } from '@taskyard/contracts';
import type { AnyRole } from '@taskyard/roles';

/** Step 7, the output: what the handler returned must match the role's output schema, when it has one (permanent: SCHEMA_INVALID). */
export function checkOutput(role: AnyRole, result: unknown): unknown {
  if (!role.output) return result;
  const parsed = role.output.safeParse(result);
  if (!parsed.success) throw new SchemaError(`handler of role "${role.name}" returned an invalid result`, toIssues(parsed.error));
  return parsed.data;
}
