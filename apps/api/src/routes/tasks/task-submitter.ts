import type { JobsOptions } from 'bullmq';
import {
  createMessage,
  jobOptionsFor,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  toIssues,
  type MessageSigner,
  type Redis,
  type RoleQueues,
  type RoleRegistry,
  type SubmitTaskBody,
  type TaskAccepted,
  type TaskMessage,
  type TaskyardConfig,
} from '@taskyard/shared';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';
import type { ApiMetrics } from '../../plugins/api-metrics';

interface PreparedTask {
  message: TaskMessage;
  options: JobsOptions;
  accepted: TaskAccepted;
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
 */
export class TaskSubmitter {
  constructor(private readonly deps: TaskSubmitterDeps) {}

  async submitOne(body: SubmitTaskBody, keyId: string): Promise<TaskAccepted> {
    const task = this.prepare(body, keyId, undefined);
    const queue = this.deps.queues.get(task.message.role);
    await withRedis(this.deps.redis, () => queue.add(task.message.role, task.message, task.options));
    this.deps.metrics.countSubmitted(task.message.role);
    return task.accepted;
  }

  async submitBatch(bodies: readonly SubmitTaskBody[], keyId: string): Promise<TaskAccepted[]> {
    const tasks = bodies.map((body, index) => this.prepare(body, keyId, index));
    const byRole = new Map<string, PreparedTask[]>();
    for (const task of tasks) {
      const group = byRole.get(task.message.role) ?? [];
      group.push(task);
      byRole.set(task.message.role, group);
    }
    await withRedis(this.deps.redis, () =>
      Promise.all(
        [...byRole].map(([role, group]) =>
          this.deps.queues.get(role).addBulk(group.map((task) => ({ name: role, data: task.message, opts: task.options }))),
        ),
      ),
    );
    for (const [role, group] of byRole) this.deps.metrics.countSubmitted(role, group.length);
    return tasks.map((task) => task.accepted);
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
