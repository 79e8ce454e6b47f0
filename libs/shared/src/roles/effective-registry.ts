import { applyRoleOverride } from '../config/role-overrides';
import type { TaskyardConfig } from '../config/load-config';
import type { RoleRegistry } from '../contracts/role';
import { roleRegistry } from './registry';

/**
 * The registered roles with this deployment's settings applied: MESSAGE_TIMEOUT for roles that
 * declare no timeout, then the ROLE_<ROLE>_<SETTING> overrides.
 */
export function effectiveRoles(config: TaskyardConfig, registry: RoleRegistry = roleRegistry): RoleRegistry {
  return registry.withSettings((role) =>
    applyRoleOverride(role, config.roleOverrides[role.name], role.timeoutDeclared ? undefined : config.messageTimeoutMs),
  );
}
