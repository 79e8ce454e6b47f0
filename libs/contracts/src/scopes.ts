import { z } from 'zod';
import { RoleNameSchema } from './identifiers';

/**
 * What an API key may do. A key holds a list of these; `admin` holds every one (the writable
 * board included). `tasks:submit:<role>` allows submitting to that one role only.
 */
export const SCOPES = ['tasks:submit', 'tasks:read', 'tasks:cancel', 'dead-letters:manage', 'schedules:manage', 'dashboard:read', 'admin'] as const;

export type FixedScope = (typeof SCOPES)[number];
/** A scope a key may hold: one of SCOPES, or `tasks:submit:<role>`. */
export type Scope = FixedScope | `tasks:submit:${string}`;

const ROLE_SUBMIT_PREFIX = 'tasks:submit:';

export const ScopeSchema = z
  .string()
  .refine(
    (value) => (SCOPES as readonly string[]).includes(value) || (value.startsWith(ROLE_SUBMIT_PREFIX) && RoleNameSchema.safeParse(value.slice(ROLE_SUBMIT_PREFIX.length)).success),
    `a scope is one of ${SCOPES.join(', ')}, or tasks:submit:<role>`,
  )
  .transform((value) => value as Scope);

/**
 * Who a request is: the API key that authenticated it, what it may do, and the tenant it is
 * bound to (none for operator keys, which see every tenant within their scopes).
 */
export interface Principal {
  readonly keyId: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly tenant: string | undefined;
}

/** Whether `principal` holds `scope` (admin holds every scope). */
export function hasScope(principal: Pick<Principal, 'scopes'>, scope: Scope): boolean {
  return principal.scopes.has('admin') || principal.scopes.has(scope);
}

/** Whether `principal` may submit tasks to `role`: `tasks:submit`, `tasks:submit:<role>` or admin. */
export function maySubmitTo(principal: Pick<Principal, 'scopes'>, role: string): boolean {
  return hasScope(principal, 'tasks:submit') || principal.scopes.has(`tasks:submit:${role}`);
}

/**
 * Whether a record of `tenant` (undefined: made without one) is visible to `principal`: an
 * operator key (no tenant) sees every tenant; a tenant key only its own.
 */
export function canSeeTenant(principal: Pick<Principal, 'tenant'>, tenant: string | undefined): boolean {
  return principal.tenant === undefined || principal.tenant === tenant;
}
