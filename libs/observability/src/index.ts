/** @taskyard/observability: the JSON logger both apps use and the names of every metric. */
export { createLogger, REDACTED_PATHS, type Logger, type LoggerOptions } from './logger';
export { METRIC } from './metric-names';
