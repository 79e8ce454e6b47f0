import { acceptsSource, PermanentTaskError, type TaskMessage } from '@taskyard/contracts';
import type { AnyRole } from '@taskyard/roles';

/**
 * Step 2, access (the guide's "authorize the peer"): the message's signed source must be one the
 * role accepts, whoever put the job in its queue. Permanent: SOURCE_FORBIDDEN.
 */
export function checkAccess(role: AnyRole, message: TaskMessage): void {
  if (!acceptsSource(role.acceptFrom, message.metadata.source, message.metadata.tenant)) {
    throw new PermanentTaskError(`role "${role.name}" does not accept tasks from "${message.metadata.source}"`, 'SOURCE_FORBIDDEN');
  }
}
