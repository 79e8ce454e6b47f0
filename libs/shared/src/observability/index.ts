export { createLogger, REDACTED_PATHS, type Logger, type LoggerOptions } from './logger';
export { METRIC } from './metric-names';
export { WorkerMetrics, type RoleSeries } from './worker-metrics';
