import {
  ROLE_LIST_SETTINGS,
  ROLE_SETTING_BOUNDS,
  ROLE_SETTING_OVERRIDES,
  type ListRoleSetting,
  type NumericRoleSetting,
  type RoleSettingsOverride,
} from '@taskyard/contracts';

/** Per-deployment changes to role settings, from ROLE_<ROLE>_<SETTING> variables, by role name. */
export type RoleOverrides = Readonly<Record<string, RoleSettingsOverride>>;

/** `docs.ingest` → `DOCS_INGEST`: how a role is named in variables. */
export function roleEnvName(role: string): string {
  return role.toUpperCase().replace(/[.-]/g, '_');
}

const SUFFIXES = [...ROLE_SETTING_OVERRIDES.keys()];

/**
 * Reads every ROLE_<ROLE>_<SETTING> variable: the settings and their bounds are the ones role
 * definitions are checked with (ROLE_SETTING_BOUNDS, ROLE_LIST_SETTINGS in @taskyard/contracts).
 * Unknown roles or settings and bad values are problems, each naming its variable.
 */
export function parseRoleOverrides(
  source: Readonly<Record<string, string | undefined>>,
  knownRoles: readonly string[],
): { overrides: Record<string, RoleSettingsOverride>; problems: string[] } {
  const byEnvName = new Map(knownRoles.map((role) => [roleEnvName(role), role]));
  const overrides: Record<string, RoleSettingsOverride> = {};
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(source)) {
    if (!name.startsWith('ROLE_') || name === 'ROLE_MODULES' || raw === undefined || raw === '') continue;
    // A suffix may end another (ATTEMPTS, MAX_ATTEMPTS): the one that leaves a known role's name.
    const suffix = SUFFIXES.find((candidate) => name.endsWith(`_${candidate}`) && byEnvName.has(name.slice('ROLE_'.length, -(candidate.length + 1))));
    const roleName = suffix ? byEnvName.get(name.slice('ROLE_'.length, -(suffix.length + 1))) : undefined;
    if (!suffix || !roleName) {
      problems.push(`${name}: not a known ROLE_<ROLE>_<SETTING> variable (roles: ${[...byEnvName.keys()].join(', ')}; settings: ${SUFFIXES.join(', ')})`);
      continue;
    }
    const setting = ROLE_SETTING_OVERRIDES.get(suffix)!;
    const parsed = setting in ROLE_LIST_SETTINGS ? parseList(setting as ListRoleSetting, raw) : parseNumber(setting as NumericRoleSetting, raw);
    if ('problem' in parsed) problems.push(`${name}: ${parsed.problem}, got "${raw}"`);
    else (overrides[roleName] ??= {})[setting] = parsed.value as never;
  }
  return { overrides, problems };
}

function parseList(setting: ListRoleSetting, raw: string): { value: string[] } | { problem: string } {
  const { schema, example } = ROLE_LIST_SETTINGS[setting];
  const entries = schema.safeParse(raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''));
  return entries.success ? { value: entries.data } : { problem: `${entries.error.issues[0]?.message ?? 'invalid'} (e.g. ${example})` };
}

function parseNumber(setting: NumericRoleSetting, raw: string): { value: number } | { problem: string } {
  const schema = ROLE_SETTING_BOUNDS[setting];
  const parsed = schema.safeParse(raw.trim() === '' ? Number.NaN : Number(raw));
  if (parsed.success) return { value: parsed.data };
  const integer = schema.format === 'safeint';
  return { problem: `expected ${integer ? 'an integer' : 'a number'} from ${schema.minValue} to ${schema.maxValue}` };
}
