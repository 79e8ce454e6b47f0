import {
  acceptsSource,
  deriveMessage,
  jobOptionsFor,
  openMessage,
  PermanentTaskError,
  type AnyRole,
  type BulkReplayResult,
  type DeadLetter,
  type DeadLetterStore,
  type MessageSigner,
  type ReplayAccepted,
  type RoleQueues,
  type Redis,
  type RoleRegistry,
  type TaskEnvelope,
  type TaskMessage,
  type TaskyardConfig,
} from '@taskyard/shared';
import { ApiError } from '../../errors/api-error';
import type { ApiMetrics } from '../../plugins/api-metrics';
import { QueueDepthGuard } from '../tasks/queue-depth-guard';

export interface DeadLetterReplayerDeps {
  store: DeadLetterStore;
  registry: RoleRegistry;
  queues: RoleQueues;
  signer: MessageSigner;
  config: TaskyardConfig;
  metrics: ApiMetrics;
  redis: Redis;
}

type Refusal = { code: string; message: string };
type Replayable = { role: AnyRole; parent: TaskMessage };

type Outcome =
  | { kind: 'replayed'; accepted: ReplayAccepted }
  | { kind: 'not-found' }
  | ({ kind: 'refused' } & Refusal);

/** Dead letters of a bulk replay handled at once (their commands pipeline on the one connection). */
const BULK_CONCURRENCY = 50;

/**
 * Replays dead letters as new tasks: the stored message is verified (a dead letter altered in
 * Redis is refused, never re-signed), and a message derived from it (new id, causationId = the
 * dead task) is signed by the API and enqueued. The claim in Redis makes a replay idempotent:
 * concurrent or retried replays of one dead letter enqueue one task.
 */
export class DeadLetterReplayer {
  /** A replay is new work for its role: it respects the role's maxQueueDepth like a submission. */
  private readonly depthGuard: QueueDepthGuard;

  constructor(private readonly deps: DeadLetterReplayerDeps) {
    this.depthGuard = new QueueDepthGuard(deps.redis, deps.queues, deps.registry);
  }

  async replayOne(id: string, keyId: string): Promise<ReplayAccepted> {
    const outcome = await this.replay(id, keyId, undefined);
    if (outcome.kind === 'replayed') return outcome.accepted;
    if (outcome.kind === 'not-found') throw deadLetterNotFound(id);
    if (outcome.code === 'FORBIDDEN') throw new ApiError('FORBIDDEN', outcome.message);
    throw new ApiError('DEAD_LETTER_INVALID', outcome.message, { code: outcome.code });
  }

  /** Replays `ids` of `role`, or (without ids) the role's oldest dead letters, up to one page. */
  async replayMany(role: string, ids: readonly string[] | undefined, keyId: string, limit: number): Promise<BulkReplayResult> {
    if (!this.deps.registry.has(role)) {
      throw new ApiError('UNKNOWN_ROLE', `no role named "${role}"`, { known: this.deps.registry.names() });
    }
    const targets = ids ? [...new Set(ids)] : await this.deps.store.oldestIds(role, limit);
    // Admitted or refused whole (429 QUEUE_FULL), like a batch submission.
    if (targets.length > 0) await this.depthGuard.admit(new Map([[role, targets.length]]));
    const result: BulkReplayResult = { replayed: [], notFound: [], refused: [], remaining: 0 };
    for (let start = 0; start < targets.length; start += BULK_CONCURRENCY) {
      const chunk = targets.slice(start, start + BULK_CONCURRENCY);
      const outcomes = await Promise.all(chunk.map((id) => this.replay(id, keyId, role)));
      outcomes.forEach((outcome, at) => {
        const id = chunk[at]!;
        if (outcome.kind === 'replayed') result.replayed.push(outcome.accepted);
        else if (outcome.kind === 'not-found') result.notFound.push(id);
        else result.refused.push({ id, code: outcome.code, message: outcome.message });
      });
    }
    result.remaining = await this.deps.store.count(role);
    return result;
  }

  private async replay(id: string, keyId: string, expectedRole: string | undefined): Promise<Outcome> {
    const { store, queues, config, signer } = this.deps;
    const letter = await store.get(id);
    if (!letter) return { kind: 'not-found' };
    if (expectedRole !== undefined && letter.role !== expectedRole) {
      return { kind: 'refused', code: 'ROLE_MISMATCH', message: `dead letter ${id} is of role "${letter.role}", not "${expectedRole}"` };
    }
    const checked = this.check(letter);
    if (!('parent' in checked)) return { kind: 'refused', ...checked };
    const { role, parent } = checked;
    // The replay is a new message from this key: the role must accept it.
    if (!acceptsSource(role.acceptFrom, `api:${keyId}`)) {
      return { kind: 'refused', code: 'FORBIDDEN', message: `API key "${keyId}" may not send tasks to role "${role.name}"` };
    }
    if (expectedRole === undefined) await this.depthGuard.admit(new Map([[role.name, 1]]));
    const next = deriveMessage(parent, { role: role.name, payload: (letter.message as TaskEnvelope).payload, source: `api:${keyId}` }, signer);
    const claimed = await store.claimReplay(id, JSON.stringify(next));
    // Gone since we read it: a concurrent replay finished (and enqueued the one task) or it was deleted.
    if (claimed === undefined) return { kind: 'not-found' };
    // The claimed message may be a concurrent or earlier replay's: enqueue that one, as it is
    // (same job id, so a message already enqueued is not added twice).
    let message: TaskMessage;
    try {
      message = openMessage(JSON.parse(claimed) as unknown, role, signer);
    } catch (err) {
      // An earlier replay's message that no longer verifies (its signing key was retired since).
      if (!(err instanceof PermanentTaskError)) throw err;
      return { kind: 'refused', code: err.code, message: `dead letter ${id} cannot be replayed: ${err.message}` };
    }
    await queues.get(role.name).add(role.name, message, jobOptionsFor(role, message.id, config.retention));
    await store.remove(id);
    this.deps.metrics.countSubmitted(role.name);
    return { kind: 'replayed', accepted: { id: message.id, role: role.name, state: 'queued', deadLetterId: id } };
  }

  /** Whether a dead letter can be replayed: its role still exists and its message verifies and fits it. */
  private check(letter: DeadLetter): Replayable | Refusal {
    const role = this.deps.registry.get(letter.role);
    if (!role) return { code: 'UNKNOWN_ROLE', message: `dead letter ${letter.id} is of role "${letter.role}", which this deployment does not have` };
    try {
      return { role, parent: openMessage(letter.message, role, this.deps.signer) };
    } catch (err) {
      if (!(err instanceof PermanentTaskError)) throw err;
      return { code: err.code, message: `dead letter ${letter.id} cannot be replayed: ${err.message}` };
    }
  }
}

export function deadLetterNotFound(id: string): ApiError {
  return new ApiError('NOT_FOUND', `no dead letter with id "${id}" (it may have been replayed, deleted or expired)`);
}
