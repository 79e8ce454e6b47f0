import { applyRoleOverride } from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';
import type { AnyRole } from './define-role';
import type { RoleRegistry } from './role-registry';

/**
 * The registered roles with this deployment's settings applied: MESSAGE_TIMEOUT for roles that
 * declare no timeout, then the ROLE_<ROLE>_<SETTING> overrides.
 */
export function effectiveRoles<R extends AnyRole>(config: Pick<TaskyardConfig, 'roleOverrides' | 'messageTimeoutMs'>, registry: RoleRegistry<R>): RoleRegistry<R> {
  return registry.withSettings((role) =>
    applyRoleOverride(role, config.roleOverrides[role.name], role.timeoutDeclared ? undefined : config.messageTimeoutMs),
  );
}
