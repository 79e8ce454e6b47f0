export { createLogger, REDACTED_PATHS, type Logger, type LoggerOptions } from './logger';
export { METRIC, type TaskOutcome } from './metric-names';
export { WorkerMetrics, type RoleSeries } from './worker-metrics';
