export { ConfigError } from './config-error';
export { loadConfig, type TaskyardConfig, type LoadConfigOptions, type LogLevel } from './load-config';
export { ensureDevKeys, withDevKeys, type DevKeys } from './dev-keys';
