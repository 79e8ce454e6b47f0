import type { TaskId } from '@taskyard/contracts';
import type { Dispatcher } from '@taskyard/dispatch';
import type { Logger } from '@taskyard/observability';
import { cancel, snooze, topicName, type AnyRole, type AnyTopic, type HandlerOutcome, type Published, type SendOptions, type TaskContext } from '@taskyard/roles';
import { ledgerTimings, type OnceClaims, type RedisClient } from '@taskyard/store';
import type { TaskyardConfig } from '@taskyard/config';
import { toTaskError } from './dispatch-failure';
import { runOnce } from './once/run-once';
import type { Attempt } from './pipeline/attempt';

export interface ContextDeps {
  dispatcher: Dispatcher;
  redis: RedisClient;
  config: TaskyardConfig;
  onceClaims: OnceClaims;
}

/**
 * The context one attempt's handler receives. Its follow-up messages go through the dispatcher
 * like every other (access, depth, validation, signing), derived from this attempt's message;
 * a refusal fails this task (see toTaskError). Methods are arrow properties: handlers may
 * destructure them (`const { send } = ctx`).
 */
class AttemptContext implements TaskContext {
  readonly attempt: number;
  readonly maxAttempts: number;

  constructor(
    private readonly deps: ContextDeps,
    private readonly role: AnyRole,
    private readonly current: Attempt,
  ) {
    this.attempt = current.number;
    this.maxAttempts = current.maxAttempts;
  }

  get log(): Logger {
    return this.current.log;
  }

  get signal(): AbortSignal {
    return this.current.signal;
  }

  get redis(): RedisClient {
    return this.deps.redis;
  }

  get keyPrefix(): string {
    return this.deps.config.queuePrefix;
  }

  readonly once = <T>(key: string, fn: () => T | Promise<T>): Promise<T> => {
    const { deps, role, current } = this;
    const timings = ledgerTimings(role, current.maxAttempts, deps.config);
    return runOnce({ claims: deps.onceClaims, taskId: current.message!.id, ...timings }, key, fn);
  };

  readonly progress = (value: number | object): Promise<void> => this.current.job.updateProgress(value);

  readonly send = (async (target: AnyRole | string, payload: unknown, options: SendOptions = {}): Promise<{ id: TaskId }> => {
    const [task] = await this.dispatch([{ role: typeof target === 'string' ? target : target.name, payload, options }]);
    return { id: task!.message.id };
  }) as TaskContext['send'];

  readonly publish = (async (topic: AnyTopic | string, payload: unknown, options: SendOptions = {}): Promise<Published> => {
    try {
      const requests = this.deps.dispatcher.topicRequests(topicName(topic), { payload, options });
      const tasks = await this.dispatch(requests);
      return { tasks: tasks.map(({ message }) => ({ id: message.id, role: message.role })) };
    } catch (err) {
      throw toTaskError(err);
    }
  }) as TaskContext['publish'];

  readonly snooze = (delayMs: number, reason?: string): HandlerOutcome => snooze(delayMs, reason);

  readonly cancel = (reason: string): HandlerOutcome => cancel(reason);

  private async dispatch(requests: Parameters<Dispatcher['dispatch']>[1]) {
    try {
      return await this.deps.dispatcher.dispatch({ kind: 'role', role: this.role.name, parent: this.current.message! }, requests);
    } catch (err) {
      throw toTaskError(err);
    }
  }
}

/** The context one attempt's handler receives. */
export function createTaskContext(deps: ContextDeps, role: AnyRole, attempt: Attempt): TaskContext {
  return new AttemptContext(deps, role, attempt);
}
