import { roleOfKnownTaskId, type ChildFailurePolicy, type TaskId } from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';
import { toTaskError, type Dispatcher, type DispatchRequest, type PreparedTask } from '@taskyard/dispatch';
import type { Logger } from '@taskyard/observability';
import {
  cancel,
  fanOut,
  snooze,
  toWorkflowNodes,
  topicName,
  type AnyRole,
  type AnyTopic,
  type ChildNode,
  type ChildOutcome,
  type HandlerOutcome,
  type Published,
  type SendOptions,
  type TaskContext,
} from '@taskyard/roles';
import type { Job } from 'bullmq';
import { ledgerTimings, type OnceClaims, type RedisClient } from '@taskyard/store';
import { runOnce } from './once/run-once';
import type { Attempt } from './pipeline/attempt';
import type { RolePools } from './pools/role-pools';

export interface ContextDeps {
  dispatcher: Dispatcher;
  redis: RedisClient;
  config: TaskyardConfig;
  onceClaims: OnceClaims;
  /** The roles' pooled resources (ctx.use). */
  pools: RolePools;
}

type Methods = Pick<TaskContext, 'once' | 'progress' | 'send' | 'publish' | 'snooze' | 'cancel' | 'use' | 'children'>;

/**
 * The context one attempt's handler receives. Its follow-up messages go through the dispatcher
 * like every other (access, depth, validation, signing), derived from this attempt's message;
 * a refusal fails this task (see toTaskError). Handlers may destructure the methods
 * (`const { send } = ctx`): they are bound to this attempt on first read, so the many handlers
 * that use none cost no closure per task.
 */
class AttemptContext implements TaskContext {
  readonly attempt: number;
  readonly maxAttempts: number;
  private methods: Methods | undefined;

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

  get once(): TaskContext['once'] {
    return this.bound().once;
  }

  get progress(): TaskContext['progress'] {
    return this.bound().progress;
  }

  get send(): TaskContext['send'] {
    return this.bound().send;
  }

  get publish(): TaskContext['publish'] {
    return this.bound().publish;
  }

  get use(): TaskContext['use'] {
    return this.bound().use;
  }

  get children(): TaskContext['children'] {
    return this.bound().children;
  }

  get snooze(): TaskContext['snooze'] {
    return snooze;
  }

  get fanOut(): TaskContext['fanOut'] {
    return fanOutOf;
  }

  get cancel(): TaskContext['cancel'] {
    return cancel;
  }

  private bound(): Methods {
    return (this.methods ??= {
      once: <T>(key: string, fn: () => T | Promise<T>): Promise<T> => {
        const { deps, role, current } = this;
        const timings = ledgerTimings(role, current.maxAttempts, deps.config);
        return runOnce({ claims: deps.onceClaims, taskId: current.message!.id, ...timings }, key, fn);
      },
      progress: (value: number | object): Promise<void> => this.current.job.updateProgress(value),
      send: (async (target: AnyRole | string, payload: unknown, options: SendOptions = {}): Promise<{ id: TaskId }> => {
        const [task] = await this.dispatch(() => [{ role: typeof target === 'string' ? target : target.name, payload, options }]);
        // A deduplicated send answers the task it met.
        return { id: task!.accepted.id };
      }) as TaskContext['send'],
      publish: (async (topic: AnyTopic | string, payload: unknown, options: SendOptions = {}): Promise<Published> => {
        const tasks = await this.dispatch(() => this.deps.dispatcher.topicRequests(topicName(topic), { payload, options }));
        return { tasks: tasks.map(({ accepted }) => ({ id: accepted.id, role: accepted.role })) };
      }) as TaskContext['publish'],
      use: <T, R>(name: string, fn: (resource: T) => R | Promise<R>): Promise<R> => this.deps.pools.use(this.role.name, name, fn),
      children: (async (role?: AnyRole | string): Promise<ChildOutcome[]> => {
        const outcomes = await childrenOf(this.current.job);
        const name = typeof role === 'string' ? role : role?.name;
        return name === undefined ? outcomes : outcomes.filter((outcome) => outcome.role === name);
      }) as TaskContext['children'],
      snooze: (delayMs: number, reason?: string): HandlerOutcome => snooze(delayMs, reason),
      cancel: (reason: string): HandlerOutcome => cancel(reason),
    });
  }

  /** Dispatches follow-ups derived from this attempt's message; a refusal becomes this task's error. */
  private async dispatch(requests: () => DispatchRequest[]): Promise<PreparedTask[]> {
    try {
      return await this.deps.dispatcher.dispatch({ kind: 'role', role: this.role.name, parent: this.current.message! }, requests());
    } catch (err) {
      throw toTaskError(err);
    }
  }
}

function fanOutOf(children: readonly ChildNode[], options: { onChildFailure?: ChildFailurePolicy; wave?: number } = {}): HandlerOutcome {
  return fanOut(toWorkflowNodes(children), options.onChildFailure, options.wave);
}

/**
 * The finished children of a job, as BullMQ keeps them on the parent: results by child job key,
 * and the failures a policy let through. Ordered by task id, so a handler reads them the same
 * way on every run. Two reads of the parent's hashes, on demand only.
 */
export async function childrenOf(job: Pick<Job, 'getChildrenValues' | 'getIgnoredChildrenFailures'>): Promise<ChildOutcome[]> {
  const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
  const outcomes: ChildOutcome[] = [];
  for (const [key, result] of Object.entries(values)) outcomes.push({ ...childOf(key), ok: true, result });
  for (const [key, error] of Object.entries(failures)) outcomes.push({ ...childOf(key), ok: false, error });
  return outcomes.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
}

/** A child's task id and role from its job key (`<prefix>{<family>}:<queue>:<task id>`). */
function childOf(jobKey: string): { taskId: TaskId; role: string } {
  const taskId = jobKey.slice(jobKey.lastIndexOf(':') + 1);
  return { taskId, role: roleOfKnownTaskId(taskId) ?? '' };
}

/** The context one attempt's handler receives. */
export function createTaskContext(deps: ContextDeps, role: AnyRole, attempt: Attempt): TaskContext {
  return new AttemptContext(deps, role, attempt);
}
