import type { Job } from 'bullmq';
import {
  deriveMessage,
  jobOptionsFor,
  PermanentTaskError,
  toIssues,
  type AnyRole,
  type Logger,
  type MessageSigner,
  type Redis,
  type RoleQueues,
  type RoleRegistry,
  type SendOptions,
  type TaskContext,
  type TaskMessage,
  type TaskyardConfig,
} from '@taskyard/shared';

export interface ContextDeps {
  registry: RoleRegistry;
  queues: RoleQueues;
  signer: MessageSigner;
  redis: Redis;
  config: TaskyardConfig;
}

/** Builds the context one attempt's handler receives. */
export function createTaskContext(
  deps: ContextDeps,
  role: AnyRole,
  job: Job,
  message: TaskMessage,
  log: Logger,
  signal: AbortSignal,
): TaskContext {
  return {
    log,
    signal,
    attempt: job.attemptsMade + 1,
    maxAttempts: job.opts.attempts ?? 1,
    redis: deps.redis,
    keyPrefix: deps.config.queuePrefix,
    progress: (value) => job.updateProgress(value),
    send: async (target: string, payload: unknown, options: SendOptions = {}) => {
      const targetRole = deps.registry.get(target);
      if (!targetRole) throw new PermanentTaskError(`role "${role.name}" sent a task to unknown role "${target}"`, 'UNKNOWN_ROLE');
      const parsed = targetRole.input.safeParse(payload);
      if (!parsed.success) {
        const detail = toIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`).join('; ');
        throw new PermanentTaskError(`role "${role.name}" sent an invalid "${target}" payload: ${detail}`, 'SEND_INVALID');
      }
      const next = deriveMessage(message, { role: target, payload: parsed.data, source: `role:${role.name}` }, deps.signer);
      await deps.queues.get(target).add(target, next, jobOptionsFor(targetRole, next.id, deps.config.retention, options));
      return { id: next.id };
    },
  };
}
