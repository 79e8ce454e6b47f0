import {
  canSeeTenant,
  DispatchError,
  PermanentTaskError,
  type BulkReplayResult,
  type DeadLetter,
  type Principal,
  type ReplayAccepted,
  type TaskEnvelope,
  type TaskMessage,
  WORKFLOW_REPLAY_NOTE,
} from '@taskyard/contracts';
import { openMessage, type MessageSigner } from '@taskyard/crypto';
import type { Dispatcher } from '@taskyard/dispatch';
import type { RoleRegistry } from '@taskyard/roles';
import type { DeadLetterStore } from '@taskyard/store';
import { ApiError, fromDispatchError } from '../../errors/api-error';
import { requireRole } from '../require-role';

export interface DeadLetterReplayerDeps {
  store: DeadLetterStore;
  registry: RoleRegistry;
  dispatcher: Dispatcher;
  signer: MessageSigner;
}

type Refusal = { code: string; message: string };

type Outcome = { kind: 'replayed'; accepted: ReplayAccepted } | { kind: 'not-found' } | ({ kind: 'refused' } & Refusal);

/** Dead letters of a bulk replay handled at once (their commands pipeline on the one connection). */
const BULK_CONCURRENCY = 50;

/**
 * Replays dead letters as new tasks, through the dispatcher like any other message: the stored
 * message is verified (a dead letter altered in Redis is refused, never re-signed), and a message
 * derived from it (new id, causationId = the dead task, source = the replaying API key) is
 * checked against its role (access, schema), signed and enqueued. The claim in Redis makes a
 * replay idempotent: concurrent or retried replays of one dead letter enqueue one task.
 */
export class DeadLetterReplayer {
  constructor(private readonly deps: DeadLetterReplayerDeps) {}

  async replayOne(id: string, principal: Principal): Promise<ReplayAccepted> {
    const outcome = await this.replay(id, principal, undefined);
    if (outcome.kind === 'replayed') return outcome.accepted;
    if (outcome.kind === 'not-found') throw deadLetterNotFound(id);
    if (outcome.code === 'FORBIDDEN') throw new ApiError('FORBIDDEN', outcome.message);
    throw new ApiError('DEAD_LETTER_INVALID', outcome.message, { code: outcome.code });
  }

  /**
   * Replays `ids` of `role`, or (without ids) the role's oldest dead letters, up to one page. A
   * tenant key replays its tenant's letters only: another tenant's id is not found, and `remaining`
   * counts what it can see.
   */
  async replayMany(role: string, ids: readonly string[] | undefined, principal: Principal, limit: number): Promise<BulkReplayResult> {
    requireRole(this.deps.registry, role);
    const visible = principal.tenant === undefined ? undefined : (letter: DeadLetter) => canSeeTenant(principal, letter.tenant);
    const oldest = ids ? undefined : await this.deps.store.oldestIds(role, limit, visible);
    const targets = ids ? [...new Set(ids)] : oldest!.ids;
    // Admitted or refused whole (429 QUEUE_FULL), like a batch submission.
    if (targets.length > 0) await this.admit(role, targets.length);
    const result: BulkReplayResult = { replayed: [], notFound: [], refused: [], remaining: 0 };
    for (let start = 0; start < targets.length; start += BULK_CONCURRENCY) {
      const chunk = targets.slice(start, start + BULK_CONCURRENCY);
      const outcomes = await Promise.all(chunk.map((id) => this.replay(id, principal, role)));
      outcomes.forEach((outcome, at) => {
        const id = chunk[at]!;
        if (outcome.kind === 'replayed') result.replayed.push(outcome.accepted);
        else if (outcome.kind === 'not-found') result.notFound.push(id);
        else result.refused.push({ id, code: outcome.code, message: outcome.message });
      });
    }
    result.remaining = visible ? (await this.deps.store.oldestIds(role, 0, visible)).more ?? 0 : await this.deps.store.count(role);
    return result;
  }

  private async replay(id: string, principal: Principal, expectedRole: string | undefined): Promise<Outcome> {
    const { store, dispatcher, signer } = this.deps;
    const letter = await store.get(id);
    // Another tenant's dead letter is not found, exactly like an unknown one.
    if (!letter || !canSeeTenant(principal, letter.tenant)) return { kind: 'not-found' };
    if (expectedRole !== undefined && letter.role !== expectedRole) {
      return { kind: 'refused', code: 'ROLE_MISMATCH', message: `dead letter ${id} is of role "${letter.role}", not "${expectedRole}"` };
    }
    const parent = this.verify(letter);
    if (!('id' in parent)) return { kind: 'refused', ...parent };
    let prepared;
    try {
      // The replay is a new message from this key, derived from the dead one: the role must accept it.
      [prepared] = dispatcher.prepare({ kind: 'replay', principal, parent }, [{ role: letter.role, payload: (letter.message as TaskEnvelope).payload }]);
      if (expectedRole === undefined) await dispatcher.admit([prepared!]);
    } catch (err) {
      if (!(err instanceof DispatchError) || err.code === 'QUEUE_FULL') throw err;
      return { kind: 'refused', code: err.code, message: fromDispatchError(err).message };
    }
    const claimed = await store.claimReplay(id, JSON.stringify(prepared!.message));
    // Gone since we read it: a concurrent replay finished (and enqueued the one task) or it was deleted.
    if (claimed === undefined) return { kind: 'not-found' };
    // The claimed message may be a concurrent or earlier replay's: enqueue that one, as it is
    // (same job id, so a message already enqueued is not added twice).
    let message: TaskMessage;
    try {
      message = openMessage(JSON.parse(claimed) as unknown, this.deps.registry.get(letter.role)!, signer);
    } catch (err) {
      // An earlier replay's message that no longer verifies (its signing key was retired since).
      if (!(err instanceof PermanentTaskError)) throw err;
      return { kind: 'refused', code: err.code, message: `dead letter ${id} cannot be replayed: ${err.message}` };
    }
    await dispatcher.enqueue([dispatcher.jobOf(message)]);
    await store.remove(id);
    const workflowId = message.metadata.workflowId;
    const workflow = workflowId === undefined ? {} : { workflow: { id: workflowId, resumed: false as const, note: WORKFLOW_REPLAY_NOTE } };
    return { kind: 'replayed', accepted: { id: message.id, role: message.role, state: 'queued', deadLetterId: id, ...workflow } };
  }

  private admit(role: string, count: number): Promise<void> {
    return this.deps.dispatcher.admitCount(role, count);
  }

  /** The dead letter's message, verified against its role; or why it cannot be replayed. */
  private verify(letter: DeadLetter): TaskMessage | Refusal {
    const role = this.deps.registry.get(letter.role);
    if (!role) return { code: 'UNKNOWN_ROLE', message: `dead letter ${letter.id} is of role "${letter.role}", which this deployment does not have` };
    try {
      return openMessage(letter.message, role, this.deps.signer);
    } catch (err) {
      if (!(err instanceof PermanentTaskError)) throw err;
      return { code: err.code, message: `dead letter ${letter.id} cannot be replayed: ${err.message}` };
    }
  }
}

export function deadLetterNotFound(id: string): ApiError {
  return new ApiError('NOT_FOUND', `no dead letter with id "${id}" (it may have been replayed, deleted or expired)`);
}

