/**
 * Every Redis key and channel Taskyard writes beside BullMQ's own, in one place. They live under
 * the deployment's QUEUE_PREFIX (so deployments sharing a Redis stay apart and tests can delete
 * theirs) and start with "~", which no role name can, so they never collide with a queue.
 */
export class TaskyardKeys {
  constructor(readonly prefix: string) {}

  /** Dead letter of task `taskId` (a string: the JSON DeadLetter). */
  deadLetter(taskId: string): string {
    return `${this.prefix}:~dead:${taskId}`;
  }

  /** The message a replay of dead letter `taskId` enqueues, claimed once so concurrent replays enqueue one task. */
  deadLetterReplay(taskId: string): string {
    return `${this.prefix}:~dead-replay:${taskId}`;
  }

  /** Sorted set of dead letter ids, scored by the time they died; `role` for one role's. */
  deadLetterIndex(role?: string): string {
    return role ? `${this.prefix}:~dead-index:${role}` : `${this.prefix}:~dead-index`;
  }

  /** Per-message record: the effects ledger ("done" with the result) or a cancellation. */
  message(messageId: string): string {
    return `${this.prefix}:~msg:${messageId}`;
  }

  /** One `ctx.once(key, fn)` of a message. */
  once(messageId: string, key: string): string {
    return `${this.prefix}:~once:${messageId}:${key}`;
  }

  /** The stored answer to an Idempotency-Key of one API key (`keyHash`: sha256 of the header). */
  idempotency(apiKeyId: string, keyHash: string): string {
    return `${this.prefix}:~idem:${apiKeyId}:${keyHash}`;
  }

  /** Namespace of the per-API-key request counters. */
  get rateLimitNamespace(): string {
    return `${this.prefix}:~rate:`;
  }

  /** A role's shared circuit breaker state. */
  breaker(role: string): string {
    return `${this.prefix}:~breaker:${role}`;
  }

  /** The lock of a role's half-open probe: the one replica holding it runs the one probe task. */
  breakerProbe(role: string): string {
    return `${this.prefix}:~breaker-probe:${role}`;
  }

  /** Pub/sub: task ids to abort (DELETE /v1/tasks/:id of an active task). */
  get cancelChannel(): string {
    return `${this.prefix}:~cancel`;
  }

  /** Pub/sub: circuit breaker transitions, so every replica follows the one that saw them. */
  get breakerChannel(): string {
    return `${this.prefix}:~breaker-events`;
  }
}
