/** @taskyard/config: every variable Taskyard reads, parsed once with zod (loadConfig), and the development keys. */
export { ApiKeyEntrySchema, MAX_API_KEYS, mergeApiKeys, parseApiKeysFile, parseApiKeysVariable, readApiKeysFile, sha256Hex, type ApiKey, type ApiKeyEntry } from './api-keys';
export { ConfigError } from './config-error';
export { ensureDevKeys, withDevKeys, type DevKeys } from './dev-keys';
export { durationMs } from './duration';
export { loadConfig, parseBuiltInRoles, parseRoleModules, type ClusterNode, type LoadConfigOptions, type LogLevel, type TaskyardConfig } from './load-config';
export { parseRoleOverrides, roleEnvName, type RoleOverrides } from './role-overrides';
