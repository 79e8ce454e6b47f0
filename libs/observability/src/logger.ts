import pino, { type Logger } from 'pino';
import type { LogLevel } from '@taskyard/config';

/** Paths pino blanks out wherever they appear in a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'config.apiKeys',
  'config.signingKeys',
  'apiKeys',
  'signingKeys',
  '*.secret',
  'secret',
  'password',
  '*.password',
  // ioredis errors carry the failed command's arguments: task payloads and results.
  'err.command.args',
  'err.previousErrors[*].command.args',
];

export interface LoggerOptions {
  name: string;
  level: LogLevel;
  pretty?: boolean;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

/** One JSON logger per process; children add task or request context. */
export function createLogger({ name, level, pretty = false, destination }: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (destination) return pino(options, destination);
  if (pretty) return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  return pino(options, pino.destination({ sync: false }));
}

export type { Logger } from 'pino';
