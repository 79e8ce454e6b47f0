import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { ConfigError, parseBuiltInRoles, parseRoleModules } from '@taskyard/config';
import { isRoleDefinition, type AnyRole } from './define-role';
import { RoleRegistry } from './role-registry';

/**
 * The built-in roles (`builtIn`, those BUILT_IN_ROLES keeps) plus those of ROLE_MODULES: JavaScript modules (CommonJS, or ESM that
 * `require` can load) whose exports include roles made with defineRole, alone or in arrays
 * (`module.exports = [myRole]`, `exports.myRole = ...`). Both apps build their registry this
 * way, so a team adds roles without touching the platform. Read before loadConfig, which needs
 * the role names to check ROLES and ROLE_<ROLE>_* variables.
 */
export function loadRoleRegistry(env: Readonly<Record<string, string | undefined>>, builtIn: { all(): readonly AnyRole[] }): RoleRegistry {
  const shipped = builtIn.all();
  const kept = parseBuiltInRoles(env['BUILT_IN_ROLES'], shipped.map((role) => role.name));
  const problems: string[] = [...kept.problems];
  const added: AnyRole[] = [];
  for (const path of new Set(parseRoleModules(env['ROLE_MODULES']))) {
    let exported: unknown;
    try {
      exported = createRequire(resolve('index.js'))(path);
    } catch (err) {
      problems.push(`ROLE_MODULES: cannot load ${path}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      continue;
    }
    const roles = rolesIn(exported);
    if (roles.length === 0) problems.push(`ROLE_MODULES: ${path} exports no role (export the result of defineRole)`);
    added.push(...roles);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  try {
    return new RoleRegistry([...shipped.filter((role) => kept.names.includes(role.name)), ...added]);
  } catch (err) {
    throw new ConfigError([`ROLE_MODULES: ${err instanceof Error ? err.message : String(err)}`]);
  }
}

function rolesIn(exported: unknown): AnyRole[] {
  const found = new Set<AnyRole>();
  const visit = (value: unknown, depth: number) => {
    if (isRoleDefinition(value)) found.add(value);
    else if (Array.isArray(value)) value.forEach((item) => visit(item, depth));
    else if (depth === 0 && value && typeof value === 'object') Object.values(value).forEach((item) => visit(item, depth + 1));
  };
  visit(exported, 0);
  return [...found];
}
