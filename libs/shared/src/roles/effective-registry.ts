import { applyRoleOverride } from '../config/role-overrides';
import type { TaskyardConfig } from '../config/load-config';
import type { RoleRegistry } from '../contracts/role';
import { roleRegistry } from './registry';

/** The registered roles with this deployment's ROLE_<ROLE>_<SETTING> overrides applied. */
export function effectiveRoles(config: TaskyardConfig, registry: RoleRegistry = roleRegistry): RoleRegistry {
  return registry.withSettings((role) => applyRoleOverride(role, config.roleOverrides[role.name]));
}
