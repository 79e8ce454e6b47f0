import { roleOfKnownTaskId } from '@taskyard/contracts';

/**
 * The one place that knows Taskyard's key layout in Redis: BullMQ's queues and Taskyard's own
 * records beside them.
 *
 * - Everything of one role shares a hash slot, and so does every role of one family: the roles
 *   whose names share their first word (`docs.ingest`, `docs.analyze` and `docs.store` are the
 *   family `docs`; `echo` is a family of its own). A role's BullMQ queue (named after the role)
 *   has the prefix `<prefix>{<family>}` (BullMQ's advice for Redis Cluster: a hash tag in the
 *   prefix, so the families spread over the nodes), so its keys are `<prefix>{<family>}:<role>:…`,
 *   and the role's own records (a task's ledger record and `ctx.once` claims, its dead letters,
 *   its circuit) are `<prefix>{<family>}:~…`. A multi-key script or transaction over one role's
 *   keys therefore works on a cluster, and so does a workflow within one family (BullMQ's flows
 *   link a parent's keys with its children's in one script). A task id names its role
 *   (`echo_<uuid>`), so every key of a task follows from its id. (The prefix has no ":": BullMQ
 *   splits qualified names on it.)
 * - What spans roles (Idempotency-Key records, the per-key rate limit counters) lives outside
 *   any role's slot, and pub/sub channels are the deployment's.
 * - Taskyard's own keys start with "~" after the role's space, which no queue name can.
 *
 * Everything lives under the deployment's QUEUE_PREFIX, so deployments sharing a Redis stay
 * apart and tests can delete theirs: keys under `<prefix>{` and `<prefix>:`, channels under
 * `<prefix>:`, which is all the least-privilege user of infra/redis/taskyard.acl may touch. A new
 * key or channel must stay there.
 */
export class TaskyardKeys {
  constructor(readonly prefix: string) {}

  /** The BullMQ queue name of a role: the role's name. */
  queueName(role: string): string {
    return role;
  }

  /** The BullMQ prefix of a role's queue, and the space every key of the role lives in: `<prefix>{<family>}`. */
  queuePrefix(role: string): string {
    return `${this.prefix}{${slotFamilyOf(role)}}`;
  }

  /** Where one role's own (non-BullMQ) keys live. */
  roleSpace(role: string): string {
    return this.queuePrefix(role);
  }

  /** BullMQ's hash of the job of task `taskId` (its fields are BullMQ's). */
  job(taskId: string): string {
    const role = this.roleOf(taskId);
    return `${this.queuePrefix(role)}:${this.queueName(role)}:${taskId}`;
  }

  /** Per-message record: the effects ledger ("done" with the result) or a cancellation. */
  message(taskId: string): string {
    return `${this.messagePrefix(this.roleOf(taskId))}${taskId}`;
  }

  /** What every message record key of `role` starts with (a script builds a record's key from it and the id). */
  messagePrefix(role: string): string {
    return `${this.roleSpace(role)}:~msg:`;
  }

  /** One `ctx.once(key, fn)` of a message. */
  once(taskId: string, key: string): string {
    return `${this.roleSpace(this.roleOf(taskId))}:~once:${taskId}:${key}`;
  }

  /** Dead letter of task `taskId` (a string: the JSON DeadLetter). */
  deadLetter(taskId: string): string {
    return `${this.roleSpace(this.roleOf(taskId))}:~dead:${taskId}`;
  }

  /** The message a replay of dead letter `taskId` enqueues, claimed once so concurrent replays enqueue one task. */
  deadLetterReplay(taskId: string): string {
    return `${this.roleSpace(this.roleOf(taskId))}:~dead-replay:${taskId}`;
  }

  /** Sorted set of one role's dead letter ids, scored by the time they died. */
  deadLetterIndex(role: string): string {
    return `${this.roleSpace(role)}:~dead-index:${role}`;
  }

  /**
   * The search index of one role's tasks (GET /v1/tasks): a sorted set of task ids scored by
   * their creation time (ms), written as a task is added; `by` narrows it to the tasks of one
   * tenant, correlation id or label (see TaskIndex), so a query walks only what it asks for.
   */
  taskIndex(role: string, by?: TaskIndexFacet): string {
    const base = `${this.roleSpace(role)}:~index:${role}`;
    if (!by) return base;
    // The values are free text (a label value may hold ":"), so each is one URI component.
    if (by.kind === 'label') return `${base}:label:${encodeURIComponent(by.name)}=${encodeURIComponent(by.value)}`;
    return `${base}:${by.kind}:${encodeURIComponent(by.value)}`;
  }

  /** Which of a role's indexes each of its tasks is in beyond the role's own (a hash: task id -> index keys). */
  taskIndexFacets(role: string): string {
    return `${this.roleSpace(role)}:~index-facets:${role}`;
  }

  /** Where the sweep of a role's search index stopped (a rank, see sweep-task-index.lua). */
  taskIndexSweep(role: string): string {
    return `${this.roleSpace(role)}:~index-sweep:${role}`;
  }

  /** A role's shared circuit breaker state. */
  breaker(role: string): string {
    return `${this.roleSpace(role)}:~breaker:${role}`;
  }

  /** The lock of a role's half-open probe: the one replica holding it runs the one probe task. */
  breakerProbe(role: string): string {
    return `${this.roleSpace(role)}:~breaker-probe:${role}`;
  }

  /**
   * A fair role's turns: a sorted set of the tenants with tasks ahead of the queue's front,
   * scored by the virtual time of their last task (see fair-turns.lua). Self-trimming: a tenant
   * the front has passed is removed; the key expires when the role is idle.
   */
  fairTurns(role: string): string {
    return `${this.roleSpace(role)}:~fair-turns:${role}`;
  }

  /**
   * The leases of one tenant's running tasks of a fair role (tenantConcurrency): a sorted set of
   * `<task id>:<token>` by lease end, so a SIGKILLed worker's slot frees when its lease ends.
   * `tenant` undefined: the tasks without a tenant, one tenant of their own.
   */
  fairLeases(role: string, tenant: string | undefined): string {
    return `${this.roleSpace(role)}:~fair-leases:${role}:${tenantSegment(tenant)}`;
  }

  /** One tenant's starts of a fair role in the current window (tenantRate): a counter that expires with its window. */
  fairRate(role: string, tenant: string | undefined): string {
    return `${this.roleSpace(role)}:~fair-rate:${role}:${tenantSegment(tenant)}`;
  }

  /** The stored answer to an Idempotency-Key of one API key (`keyHash`: sha256 of the header). */
  idempotency(apiKeyId: string, keyHash: string): string {
    return `${this.prefix}:~idem:${apiKeyId}:${keyHash}`;
  }

  /** The built-in document pipeline's record of one document (docs.ingest's task id). */
  document(documentId: string): string {
    return `${this.prefix}:docs:${documentId}`;
  }

  /** A workflow's record (POST /v1/workflows): its name, owner, tenant and tree of task ids. */
  workflow(workflowId: string): string {
    return `${this.prefix}:~wf:${workflowId}`;
  }

  /** The internal BullMQ queue of the schedules' job schedulers (each run of a schedule is a job here first). */
  get schedulesQueueName(): string {
    return 'schedules';
  }

  /** Its prefix, and the one hash slot of everything schedules keep: `<prefix>{~schedules}`. */
  get schedulesPrefix(): string {
    return `${this.prefix}{~schedules}`;
  }

  /** A schedule's definition (JSON), by its internal id (tenant and id, see ScheduleStore.internalId). */
  schedule(internalId: string): string {
    return `${this.schedulesPrefix}:~schedule:${internalId}`;
  }

  /** A schedule's last runs (a capped sorted set of JSON ScheduleRuns, scored by their slot). */
  scheduleRuns(internalId: string): string {
    return `${this.schedulesPrefix}:~schedule-runs:${internalId}`;
  }

  /** Every schedule's internal id, in a sorted set read by range (GET /v1/schedules). */
  get scheduleIndex(): string {
    return `${this.schedulesPrefix}:~schedule-index`;
  }

  /** The worker registry: a hash of live worker processes (JSON entries by worker id)... */
  get workers(): string {
    return `${this.prefix}{~workers}:~workers`;
  }

  /** ...and when each entry expires (a sorted set by deadline): one slot, so both change together. */
  get workersSeen(): string {
    return `${this.prefix}{~workers}:~workers-seen`;
  }

  /** The one hash slot of everything broadcasts keep (records, acknowledgements, index, log levels): `<prefix>{~broadcasts}`. */
  get broadcastsSpace(): string {
    return `${this.prefix}{~broadcasts}`;
  }

  /** A broadcast (a string: the JSON, signed BroadcastRecord), expiring after BROADCAST_RETENTION. */
  broadcast(id: string): string {
    return `${this.broadcastsSpace}:~broadcast:${id}`;
  }

  /** A broadcast's acknowledgements (a hash: worker id -> JSON ack), expiring with the broadcast. */
  broadcastAcks(id: string): string {
    return `${this.broadcastsSpace}:~broadcast-acks:${id}`;
  }

  /** Every broadcast's id, in a sorted set by creation time (ms), pruned to the retention as it is written. */
  get broadcastIndex(): string {
    return `${this.broadcastsSpace}:~broadcast-index`;
  }

  /** The log levels `set-log-level` stored (a hash: `*` -> the deployment's, `<role>` -> a role's), read by every starting worker. */
  get logLevels(): string {
    return `${this.broadcastsSpace}:~log-levels`;
  }

  /** Namespace of the per-API-key request counters. */
  get rateLimitNamespace(): string {
    return `${this.prefix}:~rate:`;
  }

  /** Pub/sub: task ids to abort (DELETE /v1/tasks/:id of an active task). */
  get cancelChannel(): string {
    return `${this.prefix}:~cancel`;
  }

  /** Pub/sub: circuit breaker transitions, so every replica follows the one that saw them. */
  get breakerChannel(): string {
    return `${this.prefix}:~breaker-events`;
  }

  /** Pub/sub: the id of every new broadcast (its record is read from Redis; a reconnecting worker catches up from the index). */
  get broadcastChannel(): string {
    return `${this.prefix}:~broadcasts`;
  }

  /** The role a task id names; throws for anything else (callers check ids from outside with roleOfTaskId first). */
  roleOf(taskId: string): string {
    const role = roleOfKnownTaskId(taskId);
    if (role === undefined) throw new Error(`not a task id: "${taskId}"`);
    return role;
  }
}

/**
 * The family of a role, which names its hash slot: the first word of its name (`docs` for
 * `docs.ingest`). Roles that run in one workflow on a Redis Cluster must be of one family.
 */
/** What narrows a role's search index: a tenant, a correlation id, one label's name and value. */
export type TaskIndexFacet = { kind: 'tenant' | 'correlation'; value: string } | { kind: 'label'; name: string; value: string };

export function slotFamilyOf(role: string): string {
  const dot = role.indexOf('.');
  return dot === -1 ? role : role.slice(0, dot);
}

/** A tenant in a key, unambiguously: JSON (`"acme"`), and `null` for the tasks without a tenant. */
function tenantSegment(tenant: string | undefined): string {
  return JSON.stringify(tenant ?? null);
}
