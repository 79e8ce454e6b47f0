import type { LogLevel, LogLevelState } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';

/**
 * The log levels of one worker process, changed at run time by `set-log-level` broadcasts: the
 * process's logger (whose children without a level of their own follow it: pino) and one logger
 * per role it runs, which every line about the role's tasks descends from (each attempt's logger
 * is made from it when the attempt starts). A role's level is its own stored level, else the
 * deployment's stored level, else LOG_LEVEL.
 */
export class WorkerLogLevels {
  private readonly roles = new Map<string, Logger>();

  constructor(
    private readonly root: Logger,
    /** LOG_LEVEL: the level while none is stored. */
    private readonly configured: LogLevel,
    roles: readonly string[],
  ) {
    for (const role of roles) this.roles.set(role, root.child({ role }));
  }

  /** The logger of `role`'s lines (made once; its level follows the stored state). */
  forRole(role: string): Logger {
    let logger = this.roles.get(role);
    if (!logger) this.roles.set(role, (logger = this.root.child({ role })));
    return logger;
  }

  /** The level in force for `role`'s lines, or for the process's own. */
  levelOf(role?: string): string {
    return role === undefined ? this.root.level : (this.roles.get(role)?.level ?? this.root.level);
  }

  /** Puts the stored levels in force; says (at info, before a level could hide it) what changed. */
  apply(state: LogLevelState): void {
    const all = state.all ?? this.configured;
    const changes: Record<string, string> = {};
    if (this.root.level !== all) changes['*'] = all;
    for (const [role, logger] of this.roles) {
      const level = state.roles[role] ?? all;
      if (logger.level !== level) changes[role] = level;
    }
    if (Object.keys(changes).length === 0) return;
    this.root.info({ levels: changes }, 'log level changed');
    this.root.level = all;
    for (const [role, logger] of this.roles) logger.level = state.roles[role] ?? all;
  }
}
