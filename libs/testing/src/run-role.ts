import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  CancelledError,
  deepFreeze,
  errorClassOf,
  errorCodeOf,
  newTaskId,
  PermanentTaskError,
  SchemaError,
  SIGNATURE_ALGORITHM,
  TASK_SCHEMA_VERSION,
  toIssues,
  DEFAULT_WORKFLOW_MAX_DEPTH,
  DEFAULT_WORKFLOW_MAX_NODES,
  type ErrorClass,
  type TaskMessage,
  type WorkflowNode,
} from '@taskyard/contracts';
import { MessageSigner } from '@taskyard/crypto';
import { MessagePreparer, toTaskError, WorkflowPreparer, type DispatchRequest, type Origin, type PreparedTask } from '@taskyard/dispatch';
import { createLogger } from '@taskyard/observability';
import {
  cancel,
  fanOut,
  outcomeOf,
  RoleRegistry,
  snooze,
  toWorkflowNodes,
  topicName,
  type AnyRole,
  type AnyTopic,
  type ChildFailurePolicy,
  type ChildNode,
  type ChildOutcome,
  type HandlerOutcome,
  type PayloadOf,
  type Published,
  type SendOptions,
  type TaskContext,
} from '@taskyard/roles';
import type { Cluster, Redis } from 'ioredis';

export interface RunRoleOptions {
  /** 1 for the first attempt (default). */
  attempt?: number;
  /** Default: the role's attempts. */
  maxAttempts?: number;
  /** The message's metadata: correlation id (default: its id), causation, source (default `api:test`), tenant, labels. */
  metadata?: { correlationId?: string; causationId?: string | null; source?: string; tenant?: string; labels?: Record<string, string> };
  /**
   * The other roles of the deployment: `ctx.send` to one of them by name, and `ctx.publish` to
   * their topics, are checked as the dispatcher would (unknown role or topic, acceptFrom, payload).
   * A send given a role definition is always checked against it.
   */
  roles?: readonly AnyRole[];
  /** Results of `ctx.once` effects that already happened (by key): those calls return them without running. */
  onceDone?: Readonly<Record<string, unknown>>;
  /** A real Redis for roles that keep state (`ctx.redis`); without it, reading `ctx.redis` throws. */
  redis?: Redis | Cluster;
  keyPrefix?: string;
  /** Aborts the run as a cancellation or timeout would (`ctx.signal`). */
  signal?: AbortSignal;
  /** What `ctx.children()` answers: the finished children of a resumed parent (default none, a first run). */
  children?: readonly ChildOutcome[];
  /** The message's id (default a new one): a parent run again keeps its id, and so its children's. */
  messageId?: string;
}

export interface SentMessage {
  id: string;
  role: string;
  payload: unknown;
  options: SendOptions;
}

export interface PublishedMessage {
  topic: string;
  payload: unknown;
  options: SendOptions;
  tasks: { id: string; role: string }[];
}

/** What one run of a handler did (Oban.Testing.perform_job, rivertest). */
export interface RoleRun {
  /** How the task would go on: completed, failed (retried while attempts remain if transient), snoozed, cancelled, or waiting for the children it fanned out. */
  outcome: 'completed' | 'failed' | 'snoozed' | 'cancelled' | 'waiting-children';
  /** The checked output, when completed. */
  result?: unknown;
  /** The error, when failed or cancelled; `willRetry` as the worker would decide it. */
  error?: { code: string; class: ErrorClass; message: string; willRetry: boolean; retryAfterMs?: number };
  snooze?: { delayMs: number; reason: string | undefined };
  /** The children of a fan-out (`ctx.fanOut`), checked as the dispatcher would when `roles` were given. */
  fanOut?: { children: WorkflowNode[]; onChildFailure: ChildFailurePolicy; ids: string[] };
  /** The pools the handler borrowed from (`ctx.use`), in order. */
  used: string[];
  /** The message the handler got (frozen, its payload parsed by the role's schema). */
  message: TaskMessage;
  sent: SentMessage[];
  published: PublishedMessage[];
  progress: (number | object)[];
  /** Every `ctx.once` call: whether its effect ran in this run, and its result. */
  once: { key: string; ran: boolean; result: unknown }[];
  /** The JSON lines the handler logged through `ctx.log`. */
  logs: Record<string, unknown>[];
}

/**
 * Runs one role's handler once, against a test context, without Redis or a worker: the payload
 * is parsed with the role's input schema, the result checked against its output schema, and
 * everything the handler did through its context is recorded. Outcomes and errors are
 * classified the way the worker classifies them.
 */
export async function runRole<R extends AnyRole>(role: R, payload: PayloadOf<R>, options: RunRoleOptions = {}): Promise<RoleRun> {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    name: 'taskyard-test',
    level: 'trace',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  });
  const parsed = role.input.safeParse(payload);
  const message = makeMessage(role.name, parsed.success ? parsed.data : payload, options);
  const attempt = options.attempt ?? 1;
  const maxAttempts = options.maxAttempts ?? role.attempts;
  const run: RoleRun = { outcome: 'completed', message, sent: [], published: [], progress: [], once: [], used: [], logs };
  const fail = (err: unknown): RoleRun => {
    const error = err instanceof Error ? err : new Error(String(err));
    const errorClass = errorClassOf(error);
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
    run.outcome = error instanceof CancelledError ? 'cancelled' : 'failed';
    run.error = {
      code: errorCodeOf(error),
      class: errorClass,
      message: error.message,
      willRetry: errorClass === 'transient' && attempt < maxAttempts,
      ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
    };
    return run;
  };
  if (!parsed.success) return fail(schemaError(`payload does not match role "${role.name}"`, parsed.error));

  const registry = new RoleRegistry(options.roles ?? []);
  const ctx = new TestContext(role, message, attempt, maxAttempts, logger.child({ role: role.name, taskId: message.id, correlationId: message.metadata.correlationId, attempt }), registry, options, run);
  let value: unknown;
  try {
    value = await role.handler(message as never, ctx);
  } catch (err) {
    return fail(err);
  }
  const outcome = outcomeOf(value);
  if (outcome?.kind === 'snooze') {
    run.outcome = 'snoozed';
    run.snooze = { delayMs: outcome.delayMs, reason: outcome.reason };
    return run;
  }
  if (outcome?.kind === 'cancel') return fail(new CancelledError(`cancelled by its handler: ${outcome.reason}`));
  if (outcome?.kind === 'fan-out') {
    try {
      const ids = ctx.checkChildren(outcome.children, outcome.wave);
      run.outcome = 'waiting-children';
      run.fanOut = { children: [...outcome.children], onChildFailure: outcome.onChildFailure, ids };
      return run;
    } catch (err) {
      return fail(err);
    }
  }
  if (role.output) {
    const output = role.output.safeParse(value);
    if (!output.success) return fail(schemaError(`handler of role "${role.name}" returned an invalid result`, output.error));
    value = output.data;
  }
  run.result = value;
  return run;
}

class TestContext implements TaskContext {
  private readonly onceResults = new Map<string, unknown>();
  private readonly signer = new MessageSigner([{ id: 'run-role', secret: randomBytes(24).toString('base64url') }]);

  constructor(
    private readonly role: AnyRole,
    private readonly message: TaskMessage,
    readonly attempt: number,
    readonly maxAttempts: number,
    readonly log: TaskContext['log'],
    private readonly registry: RoleRegistry,
    private readonly options: RunRoleOptions,
    private readonly run: RoleRun,
  ) {
    for (const [key, result] of Object.entries(options.onceDone ?? {})) this.onceResults.set(key, result);
  }

  get signal(): AbortSignal {
    return this.options.signal ?? new AbortController().signal;
  }

  get redis(): Redis | Cluster {
    if (!this.options.redis) throw new Error(`role "${this.role.name}" uses ctx.redis: pass runRole a { redis } option`);
    return this.options.redis;
  }

  get keyPrefix(): string {
    return this.options.keyPrefix ?? 'taskyard-test';
  }

  readonly progress = async (value: number | object): Promise<void> => {
    this.run.progress.push(value);
  };

  readonly once = async <T>(key: string, fn: () => T | Promise<T>): Promise<T> => {
    if (this.onceResults.has(key)) {
      const result = this.onceResults.get(key) as T;
      this.run.once.push({ key, ran: false, result });
      return result;
    }
    const value = await fn();
    // As the worker does: the stored result is the JSON of the value.
    const result = (value === undefined ? undefined : JSON.parse(JSON.stringify(value))) as T;
    this.onceResults.set(key, result);
    this.run.once.push({ key, ran: true, result });
    return result;
  };

  readonly send = (async (target: AnyRole | string, payload: unknown, options: SendOptions = {}) => {
    const name = typeof target === 'string' ? target : target.name;
    if (typeof target === 'string' && !this.options.roles) {
      // No deployment to check a name against: recorded as sent, unchecked.
      const id = newTaskId(name);
      this.run.sent.push({ id, role: name, payload, options });
      return { id };
    }
    const [task] = this.prepare([{ role: name, payload, options }], typeof target === 'string' ? undefined : target);
    this.run.sent.push({ id: task!.message.id, role: name, payload: task!.message.payload, options });
    return { id: task!.message.id };
  }) as TaskContext['send'];

  readonly publish = (async (topic: AnyTopic | string, payload: unknown, options: SendOptions = {}): Promise<Published> => {
    const name = topicName(topic);
    if (!this.options.roles) {
      // No deployment, so no subscribers to check against: recorded, with no tasks.
      this.run.published.push({ topic: name, payload, options, tasks: [] });
      return { tasks: [] };
    }
    const preparer = this.preparer();
    const prepared = this.refusedAsTaskError(() => preparer.prepare(this.origin, preparer.topicRequests(name, { payload, options })));
    const tasks = prepared.map(({ message }) => ({ id: message.id, role: message.role }));
    this.run.published.push({ topic: name, payload, options, tasks });
    return { tasks };
  }) as TaskContext['publish'];

  /**
   * A pooled resource without a pool: each use makes one with the pool's `create` and destroys it
   * after (validate is not run). Recorded in the run's `used`.
   */
  readonly use = async <T, R>(name: string, fn: (resource: T) => R | Promise<R>): Promise<R> => {
    const pool = this.role.pools[name];
    if (!pool) throw new PermanentTaskError(`role "${this.role.name}" declares no pool "${name}"`, 'UNKNOWN_POOL');
    const resource = (await pool.create()) as T;
    this.run.used.push(name);
    try {
      return await fn(resource);
    } finally {
      await pool.destroy?.(resource);
    }
  };

  readonly snooze = (delayMs: number, reason?: string): HandlerOutcome => snooze(delayMs, reason);

  readonly cancel = (reason: string): HandlerOutcome => cancel(reason);

  readonly children = (async (role?: AnyRole | string): Promise<ChildOutcome[]> => {
    const name = typeof role === 'string' ? role : role?.name;
    const all = [...(this.options.children ?? [])];
    return name === undefined ? all : all.filter((outcome) => outcome.role === name);
  }) as TaskContext['children'];

  readonly fanOut = (children: readonly ChildNode[], options: { onChildFailure?: ChildFailurePolicy; wave?: number } = {}): HandlerOutcome =>
    fanOut(toWorkflowNodes(children), options.onChildFailure, options.wave);

  /** A fan-out's children checked as the dispatcher would (given the deployment's roles): their task ids. */
  checkChildren(children: readonly WorkflowNode[], wave: number): string[] {
    if (!this.options.roles) return children.map((child) => newTaskId(child.role));
    // The deployment's defaults: a fan-out a real worker would refuse is refused here too.
    const workflows = new WorkflowPreparer(this.preparer(), { maxNodes: DEFAULT_WORKFLOW_MAX_NODES, maxDepth: DEFAULT_WORKFLOW_MAX_DEPTH });
    const prepared = this.refusedAsTaskError(() => workflows.prepareChildren({ origin: this.origin as Origin & { kind: 'role' } }, children, wave));
    return prepared.map((node) => node.message.id);
  }

  /** Where this handler's follow-ups come from, for the dispatcher's checks. */
  private get origin(): Origin {
    return { kind: 'role', role: this.role.name, parent: this.message };
  }

  /**
   * The dispatcher's own checks and making (MessagePreparer), over the deployment's roles plus
   * `target` when given as a definition: unknown role, acceptFrom, payload depth and schema,
   * send options; signed with a key of this run.
   */
  private preparer(target?: AnyRole): MessagePreparer {
    const roles = [...(this.options.roles ?? [])];
    if (target && !roles.some((known) => known.name === target.name)) roles.push(target);
    return new MessagePreparer({ registry: new RoleRegistry(roles), signer: this.signer, config: { retention: TEST_RETENTION } });
  }

  private prepare(requests: DispatchRequest[], target?: AnyRole): PreparedTask[] {
    const preparer = this.preparer(target);
    return this.refusedAsTaskError(() => preparer.prepare(this.origin, requests));
  }

  /** A refusal fails the handler's task as it would in a worker (toTaskError: SEND_INVALID, SEND_FORBIDDEN, …). */
  private refusedAsTaskError<T>(make: () => T): T {
    try {
      return make();
    } catch (err) {
      throw toTaskError(err);
    }
  }
}

/** Retention in the job options runRole's preparer makes (they are never enqueued). */
const TEST_RETENTION = { ageSeconds: 86_400, count: 100_000 };

function schemaError(message: string, error: Parameters<typeof toIssues>[0]): SchemaError {
  return new SchemaError(message, toIssues(error));
}

function makeMessage(role: string, payload: unknown, options: RunRoleOptions): TaskMessage {
  const id = options.messageId ?? newTaskId(role);
  const metadata = options.metadata ?? {};
  return deepFreeze({
    createdAt: new Date().toISOString(),
    id,
    metadata: {
      causationId: metadata.causationId ?? null,
      correlationId: metadata.correlationId ?? id,
      labels: { ...metadata.labels },
      source: metadata.source ?? 'api:test',
      ...(metadata.tenant === undefined ? {} : { tenant: metadata.tenant }),
    },
    payload,
    role,
    schemaVersion: TASK_SCHEMA_VERSION,
    // Not signed: nothing here crosses Redis.
    signature: { kid: 'test', alg: SIGNATURE_ALGORITHM, value: '0'.repeat(64) },
  });
}
