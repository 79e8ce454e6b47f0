import type { RoleRegistry } from '@taskyard/roles';
import { ApiError } from '../errors/api-error';

/** A role named in a request (a search or list filter, a bulk replay) must be one of the deployment's: 404 UNKNOWN_ROLE. */
export function requireRole(registry: RoleRegistry, role: string): void {
  if (!registry.has(role)) throw new ApiError('UNKNOWN_ROLE', `no role named "${role}"`, { known: registry.names() });
}
