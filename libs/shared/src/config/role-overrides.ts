import { AcceptFromSchema } from '../contracts/access';
import { DEFAULT_BREAKER, TopicsSchema, type RoleSettings } from '../contracts/role';

/** Per-deployment changes to a role's settings, from ROLE_<ROLE>_<SETTING> variables. */
export type RoleOverrides = Readonly<Record<string, RoleSettingsOverride>>;

export interface RoleSettingsOverride {
  concurrency?: number;
  attempts?: number;
  timeoutMs?: number;
  backoffDelayMs?: number;
  backoffJitter?: number;
  rateLimitMax?: number;
  rateLimitDurationMs?: number;
  maxQueueDepth?: number;
  breakerThresholdPercent?: number;
  breakerVolume?: number;
  breakerResetMs?: number;
  breakerWindowMs?: number;
  acceptFrom?: string[];
  topics?: string[];
}

/** The variable suffix of each overridable setting, with its bounds. */
const SETTINGS: Record<string, { key: Exclude<keyof RoleSettingsOverride, ListSetting>; min: number; max: number; integer: boolean }> = {
  CONCURRENCY: { key: 'concurrency', min: 1, max: 1000, integer: true },
  ATTEMPTS: { key: 'attempts', min: 1, max: 100, integer: true },
  TIMEOUT_MS: { key: 'timeoutMs', min: 1, max: 86_400_000, integer: true },
  BACKOFF_DELAY_MS: { key: 'backoffDelayMs', min: 0, max: 86_400_000, integer: true },
  BACKOFF_JITTER: { key: 'backoffJitter', min: 0, max: 1, integer: false },
  RATE_LIMIT_MAX: { key: 'rateLimitMax', min: 1, max: 1_000_000, integer: true },
  RATE_LIMIT_DURATION_MS: { key: 'rateLimitDurationMs', min: 1, max: 86_400_000, integer: true },
  MAX_QUEUE_DEPTH: { key: 'maxQueueDepth', min: 1, max: 100_000_000, integer: true },
  BREAKER_THRESHOLD_PERCENT: { key: 'breakerThresholdPercent', min: 1, max: 100, integer: false },
  BREAKER_VOLUME: { key: 'breakerVolume', min: 1, max: 1_000_000, integer: true },
  BREAKER_RESET_MS: { key: 'breakerResetMs', min: 100, max: 86_400_000, integer: true },
  BREAKER_WINDOW_MS: { key: 'breakerWindowMs', min: 100, max: 86_400_000, integer: true },
};

type ListSetting = 'acceptFrom' | 'topics';

/**
 * The settings that are comma-separated lists, not numbers: ROLE_<ROLE>_ACCEPT_FROM=api:main,role:docs.ingest
 * and ROLE_<ROLE>_TOPICS=order.created,order.shipped (replacing what the role declares).
 */
const LISTS: Record<string, { key: ListSetting; schema: typeof AcceptFromSchema | typeof TopicsSchema; example: string }> = {
  ACCEPT_FROM: { key: 'acceptFrom', schema: AcceptFromSchema, example: 'api:main,role:docs.ingest' },
  TOPICS: { key: 'topics', schema: TopicsSchema, example: 'order.created,order.shipped' },
};
const SETTING_NAMES = [...Object.keys(SETTINGS), ...Object.keys(LISTS)];

/** `docs.ingest` → `DOCS_INGEST`: how a role is named in variables. */
export function roleEnvName(role: string): string {
  return role.toUpperCase().replace(/[.-]/g, '_');
}

/** Reads every ROLE_<ROLE>_<SETTING> variable; unknown roles or settings and bad values are problems. */
export function parseRoleOverrides(
  source: Readonly<Record<string, string | undefined>>,
  knownRoles: readonly string[],
): { overrides: Record<string, RoleSettingsOverride>; problems: string[] } {
  const byEnvName = new Map(knownRoles.map((role) => [roleEnvName(role), role]));
  const overrides: Record<string, RoleSettingsOverride> = {};
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(source)) {
    if (!name.startsWith('ROLE_') || name === 'ROLE_MODULES' || raw === undefined || raw === '') continue;
    const suffix = SETTING_NAMES.find((candidate) => name.endsWith(`_${candidate}`));
    const roleName = suffix ? byEnvName.get(name.slice('ROLE_'.length, -(suffix.length + 1))) : undefined;
    if (!suffix || !roleName) {
      problems.push(
        `${name}: not a known ROLE_<ROLE>_<SETTING> variable (roles: ${[...byEnvName.keys()].join(', ')}; settings: ${SETTING_NAMES.join(', ')})`,
      );
      continue;
    }
    const list = LISTS[suffix];
    if (list) {
      const entries = list.schema.safeParse(raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''));
      if (entries.success) (overrides[roleName] ??= {})[list.key] = entries.data;
      else problems.push(`${name}: ${entries.error.issues[0]?.message ?? 'invalid'} (e.g. ${list.example}), got "${raw}"`);
      continue;
    }
    const setting = SETTINGS[suffix]!;
    const value = Number(raw);
    if (!Number.isFinite(value) || (setting.integer && !Number.isInteger(value)) || value < setting.min || value > setting.max) {
      problems.push(`${name}: expected ${setting.integer ? 'an integer' : 'a number'} from ${setting.min} to ${setting.max}, got "${raw}"`);
      continue;
    }
    (overrides[roleName] ??= {})[setting.key] = value;
  }
  return { overrides, problems };
}

/**
 * A role's settings with a deployment's overrides applied. `defaultTimeoutMs` (MESSAGE_TIMEOUT)
 * replaces the timeout of a role that declared none. A BREAKER_* variable gives a role without a
 * breaker one, with DEFAULT_BREAKER for the settings it does not name.
 */
export function applyRoleOverride(
  settings: RoleSettings,
  override: RoleSettingsOverride = {},
  defaultTimeoutMs?: number,
): RoleSettings {
  // Always a fresh object of settings only: callers pass whole role definitions, and the
  // settings schema is strict.
  const rateLimitMax = override.rateLimitMax ?? settings.rateLimit?.max;
  const rateLimitDuration = override.rateLimitDurationMs ?? settings.rateLimit?.duration;
  const maxQueueDepth = override.maxQueueDepth ?? settings.maxQueueDepth;
  const breakerOverridden =
    override.breakerThresholdPercent !== undefined ||
    override.breakerVolume !== undefined ||
    override.breakerResetMs !== undefined ||
    override.breakerWindowMs !== undefined;
  const breakerBase = settings.breaker ?? (breakerOverridden ? DEFAULT_BREAKER : undefined);
  return {
    concurrency: override.concurrency ?? settings.concurrency,
    attempts: override.attempts ?? settings.attempts,
    timeoutMs: override.timeoutMs ?? defaultTimeoutMs ?? settings.timeoutMs,
    isolated: settings.isolated,
    ...((override.acceptFrom ?? settings.acceptFrom) ? { acceptFrom: override.acceptFrom ?? settings.acceptFrom } : {}),
    ...((override.topics ?? settings.topics) ? { topics: override.topics ?? settings.topics } : {}),
    ...(maxQueueDepth !== undefined ? { maxQueueDepth } : {}),
    ...(breakerBase
      ? {
          breaker: {
            errorThresholdPercentage: override.breakerThresholdPercent ?? breakerBase.errorThresholdPercentage,
            volumeThreshold: override.breakerVolume ?? breakerBase.volumeThreshold,
            resetTimeoutMs: override.breakerResetMs ?? breakerBase.resetTimeoutMs,
            rollingWindowMs: override.breakerWindowMs ?? breakerBase.rollingWindowMs,
          },
        }
      : {}),
    backoff: {
      type: settings.backoff.type,
      delayMs: override.backoffDelayMs ?? settings.backoff.delayMs,
      jitter: override.backoffJitter ?? settings.backoff.jitter,
    },
    ...(rateLimitMax !== undefined || rateLimitDuration !== undefined
      ? { rateLimit: { max: rateLimitMax ?? 1, duration: rateLimitDuration ?? 1000 } }
      : {}),
  };
}
