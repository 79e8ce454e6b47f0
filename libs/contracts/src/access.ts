import { z } from 'zod';

/**
 * Who may send tasks to a role (the guide's "access control": a worker authorises the peer a
 * message comes from). A message's `metadata.source` is `api:<key id>` for tasks submitted over
 * HTTP, `role:<name>` for tasks a handler sent and `schedule:<id>` for a schedule's runs; it is
 * covered by the signature. Patterns are exact sources or `api:*` / `role:*` / `schedule:*`.
 */
export const SourcePatternSchema = z
  .string()
  .regex(/^(api|role|schedule):([\w.-]+|\*)$/, 'a source pattern is api:<key id>, role:<role name>, schedule:<id>, or one of them with *');

export const AcceptFromSchema = z.array(SourcePatternSchema).min(1).max(100);

/**
 * Whether a role with `acceptFrom` (undefined: anyone) takes a message from `source`, of
 * `tenant`. Schedule ids are a tenant's own (two tenants may both have "nightly"), so an exact
 * `schedule:<id>` names an operator's schedule only: a tenant's schedule passes `schedule:*`.
 */
export function acceptsSource(acceptFrom: readonly string[] | undefined, source: string, tenant?: string): boolean {
  if (!acceptFrom) return true;
  const kind = source.slice(0, source.indexOf(':') + 1);
  const exactCounts = !(kind === 'schedule:' && tenant !== undefined);
  return acceptFrom.some((pattern) => (exactCounts && pattern === source) || (pattern.endsWith(':*') && pattern.slice(0, -1) === kind));
}
