import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/**
 * A duration variable in milliseconds: `30`, `30s`, `500ms`, `15m`, `24h`, `7d`. A bare number
 * is read in `bareUnit` (seconds for the TTL and timeout variables, as in the guide's
 * MESSAGE_TIMEOUT=30).
 */
export function durationMs(bareUnit: Unit, min: number, max: number) {
  return z
    .string()
    .trim()
    .transform((raw, ctx) => {
      const match = /^(\d+(?:\.\d+)?)\s*(ms|[smhd])?$/.exec(raw);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 30, 30s, 500ms, 15m, 24h or 7d (a bare number is in ${bareUnit}), got "${raw}"` });
        return z.NEVER;
      }
      const ms = Math.round(Number(match[1]) * UNIT_MS[(match[2] as Unit | undefined) ?? bareUnit]);
      if (ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `must be from ${formatMs(min)} to ${formatMs(max)}, got "${raw}"` });
        return z.NEVER;
      }
      return ms;
    });
}

function formatMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
