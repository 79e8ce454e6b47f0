import type { Principal, TaskMessage } from '@taskyard/contracts';

/**
 * Who is dispatching, which decides the message's source (checked against a role's acceptFrom),
 * its owner and tenant, and whether it starts new work or is derived from a message:
 * - `api`: new work from an API key (POST /v1/tasks, the batch, POST /v1/topics/:topic): the key
 *   needs a submit scope for each role, and a tenant key stamps its tenant;
 * - `role`: a handler's follow-up (`ctx.send`, `ctx.publish`), derived from its message;
 * - `replay`: a dead letter replayed by an API key, derived from the dead message (its tenant);
 * - `schedule`: a schedule's run for one slot, new work owned by the key that upserted the
 *   schedule, in its tenant (source `schedule:<id>`).
 */
export type Origin =
  | { readonly kind: 'api'; readonly principal: Principal }
  | { readonly kind: 'role'; readonly role: string; readonly parent: TaskMessage }
  | { readonly kind: 'replay'; readonly principal: Principal; readonly parent: TaskMessage }
  | { readonly kind: 'schedule'; readonly scheduleId: string; readonly owner: string; readonly tenant: string | undefined; readonly scheduledFor: number };

/** The message source an origin signs: `api:<key id>`, `role:<name>` or `schedule:<id>`. */
export function sourceOf(origin: Origin): string {
  switch (origin.kind) {
    case 'role':
      return `role:${origin.role}`;
    case 'schedule':
      return `schedule:${origin.scheduleId}`;
    default:
      return `api:${origin.principal.keyId}`;
  }
}

/** How an origin is named in error messages. */
export function senderOf(origin: Origin): string {
  switch (origin.kind) {
    case 'role':
      return `role "${origin.role}"`;
    case 'schedule':
      return `schedule "${origin.scheduleId}"`;
    default:
      return `API key "${origin.principal.keyId}"`;
  }
}
