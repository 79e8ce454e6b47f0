import { TaskyardError } from '@taskyard/contracts';

/** Thrown by loadConfig with every problem found, each naming its variable. */
export class ConfigError extends TaskyardError {
  constructor(readonly problems: readonly string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}
