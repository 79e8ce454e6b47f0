import type { Job, JobsOptions } from 'bullmq';
import {
  acceptsSource,
  deriveMessage,
  jobOptionsFor,
  ledgerTimings,
  PermanentTaskError,
  runOnce,
  TaskyardKeys,
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
  /** The process's one TaskyardKeys (QUEUE_PREFIX). */
  keys: TaskyardKeys;
}

/**
 * The context one attempt's handler receives. `log` and `signal` are made on first read: a pino child
 * logger and an AbortController per task cost more than the rest of an echo task's processing in
 * the worker's profile, and most handlers use neither.
 */
class AttemptContext implements TaskContext {
  readonly attempt: number;
  readonly maxAttempts: number;

  constructor(
    private readonly deps: ContextDeps,
    private readonly role: AnyRole,
    private readonly job: Job,
    private readonly message: TaskMessage,
    private readonly makeLog: () => Logger,
    private readonly makeSignal: () => AbortSignal,
  ) {
    this.attempt = job.attemptsMade + 1;
    this.maxAttempts = job.opts.attempts ?? 1;
  }

  get log(): Logger {
    return this.makeLog();
  }

  get signal(): AbortSignal {
    return this.makeSignal();
  }

  get redis(): Redis {
    return this.deps.redis;
  }

  get keyPrefix(): string {
    return this.deps.config.queuePrefix;
  }

  // Arrow properties, not methods: handlers may destructure them (`const { send } = ctx`).
  readonly once = <T>(key: string, fn: () => T | Promise<T>): Promise<T> => {
    const { deps, role, job, message } = this;
    const timings = ledgerTimings(role, job.opts.attempts ?? role.attempts, deps.config);
    const scope = { redis: deps.redis, keys: deps.keys, messageId: message.id, ...timings };
    return runOnce(scope, key, fn);
  };

  readonly progress = (value: number | object): Promise<void> => this.job.updateProgress(value);

  readonly send = async (target: string, payload: unknown, options: SendOptions = {}): Promise<{ id: string }> => {
    const targetRole = this.deps.registry.get(target);
    if (!targetRole) throw new PermanentTaskError(`role "${this.role.name}" sent a task to unknown role "${target}"`, 'UNKNOWN_ROLE');
    const next = this.derive(targetRole, payload, options);
    await this.deps.queues.get(target).add(target, next.message, next.options);
    return { id: next.message.id };
  };

  readonly publish = async (topic: string, payload: unknown, options: SendOptions = {}): Promise<{ tasks: { id: string; role: string }[] }> => {
    const subscribers = this.deps.registry.subscribersOf(topic);
    if (subscribers.length === 0) throw new PermanentTaskError(`role "${this.role.name}" published to topic "${topic}", which no role subscribes to`, 'UNKNOWN_TOPIC');
    // Every subscriber's task is checked before any is added: one refusal publishes nothing.
    const jobs = subscribers.map((subscriber) => this.derive(subscriber, payload, options));
    await this.deps.queues.addAll(jobs);
    return { tasks: jobs.map(({ message }) => ({ id: message.id, role: message.role })) };
  };

  /** A follow-up message for `target`, checked against its access list and input schema. */
  private derive(target: AnyRole, payload: unknown, options: SendOptions): { message: TaskMessage; options: JobsOptions } {
    const { deps, role } = this;
    if (!acceptsSource(target.acceptFrom, `role:${role.name}`)) {
      throw new PermanentTaskError(`role "${role.name}" may not send tasks to role "${target.name}" (it accepts ${target.acceptFrom!.join(', ')})`, 'SEND_FORBIDDEN');
    }
    const parsed = target.input.safeParse(payload);
    if (!parsed.success) {
      const detail = toIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`).join('; ');
      throw new PermanentTaskError(`role "${role.name}" sent an invalid "${target.name}" payload: ${detail}`, 'SEND_INVALID');
    }
    const message = deriveMessage(this.message, { role: target.name, payload: parsed.data, source: `role:${role.name}` }, deps.signer);
    return { message, options: jobOptionsFor(target, message.id, deps.config.retention, options) };
  }

}

/** Builds the context one attempt's handler receives; `log` and `signal` are made on first use. */
export function createTaskContext(
  deps: ContextDeps,
  role: AnyRole,
  job: Job,
  message: TaskMessage,
  log: () => Logger,
  signal: () => AbortSignal,
): TaskContext {
  return new AttemptContext(deps, role, job, message, log, signal);
}
