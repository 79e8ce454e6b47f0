import type { JobsOptions } from 'bullmq';
import { randomUUID } from 'node:crypto';
import {
  acceptsSource,
  createMessage,
  jobOptionsFor,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  TaskyardKeys,
  toIssues,
  type MessageSigner,
  type Redis,
  type RoleQueues,
  type RoleRegistry,
  type PublishBody,
  type Published,
  type SubmitTaskBody,
  type TaskAccepted,
  type TaskMessage,
  type TaskyardConfig,
} from '@taskyard/shared';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';
import type { ApiMetrics } from '../../plugins/api-metrics';
import { IdempotencyLedger, requestFingerprint } from './idempotency-ledger';
import { QueueDepthGuard } from './queue-depth-guard';

interface PreparedTask {
  message: TaskMessage;
  options: JobsOptions;
  accepted: TaskAccepted;
}

/** What a submission answers: its 202 body, and whether that repeats an earlier request's (Idempotency-Key). */
export interface Submission<R> {
  response: R;
  replayed: boolean;
}

export interface TaskSubmitterDeps {
  registry: RoleRegistry;
  queues: RoleQueues;
  signer: MessageSigner;
  redis: Redis;
  config: TaskyardConfig;
  metrics: ApiMetrics;
}

/**
 * Validates, signs and enqueues tasks. Every task of a request is validated before any is
 * enqueued, and a batch goes to Redis as one addBulk per role, all pipelined on one connection.
 * Roles with a maxQueueDepth are checked first (QueueDepthGuard); requests with an
 * Idempotency-Key go through the IdempotencyLedger. Neither costs a request that uses neither.
 */
export class TaskSubmitter {
  private readonly depthGuard: QueueDepthGuard;
  private readonly ledger: IdempotencyLedger;

  constructor(private readonly deps: TaskSubmitterDeps) {
    this.depthGuard = new QueueDepthGuard(deps.redis, deps.queues, deps.registry);
    const keys = new TaskyardKeys(deps.config.queuePrefix);
    this.ledger = new IdempotencyLedger(deps.redis, deps.queues, keys, deps.config.idempotencyTtlMs);
  }

  /** `idempotencyKey`: the request's Idempotency-Key, if any (see IdempotencyLedger). */
  async submitOne(body: SubmitTaskBody, keyId: string, idempotencyKey?: string): Promise<Submission<TaskAccepted>> {
    const task = this.prepare(body, keyId, undefined);
    if (idempotencyKey !== undefined) {
      return this.submitIdempotently('submit-task', body, keyId, idempotencyKey, [task], task.accepted);
    }
    const role = task.message.role;
    if (this.depthGuard.isLimited(role)) await this.depthGuard.admit(new Map([[role, 1]]));
    const queue = this.deps.queues.get(role);
    await withRedis(this.deps.redis, () => queue.add(role, task.message, task.options));
    this.deps.metrics.countSubmitted(role);
    return { response: task.accepted, replayed: false };
  }

  async submitBatch(
    bodies: readonly SubmitTaskBody[],
    keyId: string,
    idempotencyKey?: string,
  ): Promise<Submission<TaskAccepted[]>> {
    const tasks = bodies.map((body, index) => this.prepare(body, keyId, index));
    const accepted = tasks.map((task) => task.accepted);
    if (idempotencyKey !== undefined) {
      return this.submitIdempotently('submit-batch', bodies, keyId, idempotencyKey, tasks, accepted);
    }
    await this.depthGuard.admit(countByRole(tasks));
    await this.enqueue(tasks);
    return { response: accepted, replayed: false };
  }

  /**
   * Publishes to a topic: one task for every role subscribed to it, validated against each role
   * (its schema, its acceptFrom) before any is enqueued, all under one correlation id so the
   * fan-out can be followed together.
   */
  async publish(topic: string, body: PublishBody, keyId: string): Promise<Published> {
    const subscribers = this.deps.registry.subscribersOf(topic);
    if (subscribers.length === 0) {
      const topics = [...new Set(this.deps.registry.all().flatMap((role) => role.topics ?? []))].sort();
      throw new ApiError('UNKNOWN_TOPIC', `no role subscribes to topic "${topic}"`, { topics });
    }
    const correlationId = body.metadata?.correlationId ?? randomUUID();
    const tasks = subscribers.map((role) =>
      this.prepare({ role: role.name, payload: body.payload, metadata: { ...body.metadata, correlationId } }, keyId, undefined),
    );
    await this.depthGuard.admit(countByRole(tasks));
    await this.enqueue(tasks);
    return { topic, correlationId, tasks: tasks.map((task) => task.accepted) };
  }

  /** A submission under an Idempotency-Key: the ledger decides whether the tasks are enqueued or the stored answer replayed. */
  private submitIdempotently<R>(
    operation: string,
    body: unknown,
    keyId: string,
    idempotencyKey: string,
    tasks: readonly PreparedTask[],
    response: R,
  ): Promise<Submission<R>> {
    const additions = countByRole(tasks);
    const depthLimited = [...additions.keys()].some((role) => this.depthGuard.isLimited(role));
    return this.ledger.submit({
      apiKeyId: keyId,
      idempotencyKey,
      fingerprint: requestFingerprint(operation, body),
      jobs: tasks.map(({ message, options }) => ({ message, options })),
      response,
      admit: depthLimited ? () => this.depthGuard.admit(additions) : undefined,
      enqueue: () => this.enqueue(tasks),
    });
  }

  /** One addBulk per role, all pipelined on the one connection. */
  private async enqueue(tasks: readonly PreparedTask[]): Promise<void> {
    const added = await withRedis(this.deps.redis, () => this.deps.queues.addAll(tasks));
    for (const [role, count] of added) this.deps.metrics.countSubmitted(role, count);
  }

  /** Checks one task against its role and builds its signed message; `index` names it inside a batch. */
  private prepare(body: SubmitTaskBody, keyId: string, index: number | undefined): PreparedTask {
    const at = (field: string) => (index === undefined ? field : `tasks.${index}.${field}`);
    const role = this.deps.registry.get(body.role);
    if (!role) {
      if (index === undefined) throw new ApiError('UNKNOWN_ROLE', `no role named "${body.role}"`, { known: this.deps.registry.names() });
      throw new ApiError('VALIDATION_FAILED', `task ${index}: no role named "${body.role}"`, [
        { index, field: at('role'), message: `unknown role; known: ${this.deps.registry.names().join(', ')}` },
      ]);
    }
    if (!acceptsSource(role.acceptFrom, `api:${keyId}`)) {
      const where = index === undefined ? '' : `task ${index}: `;
      throw new ApiError('FORBIDDEN', `${where}API key "${keyId}" may not send tasks to role "${role.name}"`, {
        ...(index === undefined ? {} : { index }),
        field: at('role'),
        acceptFrom: role.acceptFrom,
      });
    }
    if (jsonDepthExceeds(body.payload, MAX_JSON_DEPTH)) {
      throw new ApiError('VALIDATION_FAILED', `payload is nested deeper than ${MAX_JSON_DEPTH} levels`, [
        { ...(index === undefined ? {} : { index }), field: at('payload'), message: 'too deeply nested' },
      ]);
    }
    const payload = role.input.safeParse(body.payload);
    if (!payload.success) {
      const details = toIssues(payload.error).map((issue) => ({
        ...(index === undefined ? {} : { index }),
        field: [at('payload'), issue.path].filter(Boolean).join('.'),
        message: issue.message,
      }));
      const where = index === undefined ? '' : `task ${index}: `;
      throw new ApiError('VALIDATION_FAILED', `${where}payload does not match role "${role.name}"`, details);
    }
    const message = createMessage(
      {
        role: role.name,
        payload: payload.data,
        source: `api:${keyId}`,
        correlationId: body.metadata?.correlationId,
        tenant: body.metadata?.tenant,
        labels: body.metadata?.labels,
      },
      this.deps.signer,
    );
    const options = jobOptionsFor(role, message.id, this.deps.config.retention, body.options);
    const delayed = (body.options?.delayMs ?? 0) > 0;
    return { message, options, accepted: { id: message.id, role: role.name, state: delayed ? 'delayed' : 'queued' } };
  }
}

/** How many tasks of each role a request adds. */
function countByRole(tasks: readonly PreparedTask[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.message.role, (counts.get(task.message.role) ?? 0) + 1);
  return counts;
}
