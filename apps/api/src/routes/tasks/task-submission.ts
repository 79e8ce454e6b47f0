import { randomUUID } from 'node:crypto';
import { DispatchError, type Principal, type PublishBody, type Published, type SubmitTaskBody, type TaskAccepted } from '@taskyard/contracts';
import { acceptedAs, type Dispatcher, type DispatchRequest, type PreparedTask } from '@taskyard/dispatch';
import type { RedisClient, TaskStore } from '@taskyard/store';
import { withRedis } from '../../errors/redis-guard';
import { requestFingerprint, type IdempotencyLedger } from './idempotency-ledger';

/** What a submission answers: its 202 body, and whether that repeats an earlier request's (Idempotency-Key). */
export interface Submission<R> {
  response: R;
  replayed: boolean;
}

export interface TaskSubmissionDeps {
  dispatcher: Dispatcher;
  ledger: IdempotencyLedger;
  redis: RedisClient;
  /** Reads a deduplicated task's state for the answer. */
  store: TaskStore;
}

/**
 * The API's submissions: POST /v1/tasks, the batch and topic publishing, each through the
 * dispatcher (which checks every task before any is enqueued), optionally under an
 * Idempotency-Key (the ledger decides whether to enqueue or to answer the stored 202 again).
 */
export class TaskSubmission {
  constructor(private readonly deps: TaskSubmissionDeps) {}

  /** `idempotencyKey`: the request's Idempotency-Key, if any (see IdempotencyLedger). */
  async submitOne(body: SubmitTaskBody, principal: Principal, idempotencyKey?: string): Promise<Submission<TaskAccepted>> {
    const tasks = this.deps.dispatcher.prepare({ kind: 'api', principal }, [request(body)]);
    return this.submit('submit-task', body, principal.keyId, idempotencyKey, tasks, (accepted) => accepted[0]!);
  }

  async submitBatch(bodies: readonly SubmitTaskBody[], principal: Principal, idempotencyKey?: string): Promise<Submission<TaskAccepted[]>> {
    const tasks = this.deps.dispatcher.prepare({ kind: 'api', principal }, bodies.map(request), { batch: true });
    return this.submit('submit-batch', bodies, principal.keyId, idempotencyKey, tasks, (accepted) => accepted);
  }

  /**
   * Publishes to a topic: one task for every role subscribed to it, validated against each role
   * (its schema, its acceptFrom) before any is enqueued, all under one correlation id so the
   * fan-out can be followed together.
   */
  async publish(topic: string, body: PublishBody, principal: Principal, idempotencyKey?: string): Promise<Submission<Published>> {
    this.deps.dispatcher.checkMaySubmit({ kind: 'api', principal });
    const correlationId = body.metadata?.correlationId ?? randomUUID();
    const requests = this.deps.dispatcher.topicRequests(topic, { payload: body.payload, metadata: { ...body.metadata, correlationId } });
    const tasks = this.deps.dispatcher.prepare({ kind: 'api', principal }, requests);
    return this.submit('publish', { topic, body }, principal.keyId, idempotencyKey, tasks, (accepted) => ({ topic, correlationId, tasks: accepted }));
  }

  private async submit<R>(
    operation: string,
    body: unknown,
    keyId: string,
    idempotencyKey: string | undefined,
    tasks: readonly PreparedTask[],
    respond: (accepted: TaskAccepted[]) => R,
  ): Promise<Submission<R>> {
    const { dispatcher, ledger, redis } = this.deps;
    if (idempotencyKey === undefined) {
      const accepted = await withRedis(redis, async () => {
        await dispatcher.admit(tasks);
        return this.withStates(acceptedAs(tasks, await dispatcher.enqueue(tasks)));
      });
      return { response: respond(accepted), replayed: false };
    }
    // The ledger answers a retry with the 202 it stored before enqueueing: it cannot know what a
    // dedupe will answer. Both are about duplicates; a request takes one of them.
    const deduped = tasks.findIndex((task) => task.options.deduplication !== undefined);
    if (deduped !== -1) {
      throw new DispatchError('INVALID', 'an Idempotency-Key and options.dedupe do not go together: dedupe already answers a repeated task with the queued one', [
        { field: tasks.length === 1 ? 'options.dedupe' : `tasks.${deduped}.options.dedupe`, message: 'leave it out, or send no Idempotency-Key' },
      ]);
    }
    const response = respond(tasks.map((task) => task.accepted));
    return ledger.submit({
      apiKeyId: keyId,
      idempotencyKey,
      fingerprint: requestFingerprint(operation, body),
      jobs: tasks.map(({ message, options }) => ({ message, options })),
      response,
      admit: dispatcher.isDepthLimited(tasks) ? () => dispatcher.admit(tasks) : undefined,
      enqueue: () => dispatcher.enqueue(tasks).then(() => undefined),
      redrive: (jobs) => dispatcher.redrive(jobs),
    });
  }

  /** A deduplicated task answers the state of the task it duplicates (one read, on that path only). */
  private async withStates(tasks: readonly PreparedTask[]): Promise<TaskAccepted[]> {
    // The submit path: nothing was a duplicate, nothing to read.
    if (!tasks.some(({ accepted }) => accepted.deduplicated)) return tasks.map(({ accepted }) => accepted);
    return Promise.all(
      tasks.map(async ({ accepted }) => {
        if (!accepted.deduplicated) return accepted;
        const view = await this.deps.store.read(accepted.id);
        return view ? { ...accepted, state: view.state } : accepted;
      }),
    );
  }
}

function request(body: SubmitTaskBody): DispatchRequest {
  return { role: body.role, payload: body.payload, options: body.options, metadata: body.metadata };
}
