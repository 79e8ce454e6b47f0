export { ConfigError } from './config-error';
export { loadConfig, parseRoleModules, type TaskyardConfig, type LoadConfigOptions, type LogLevel } from './load-config';
export { ensureDevKeys, withDevKeys, type DevKeys } from './dev-keys';
export { parseRoleOverrides, applyRoleOverride, roleEnvName, type RoleOverrides, type RoleSettingsOverride } from './role-overrides';
export { durationMs } from './duration';
