import {
  deepFreeze,
  newTaskId,
  TASK_SCHEMA_VERSION,
  type TaskEnvelope,
  type TaskMessage,
} from '@taskyard/contracts';
import type { MessageSigner } from './message-signer';

/** What a new piece of work starts from. */
export interface NewMessage {
  role: string;
  payload: unknown;
  source: string;
  /** The API key that made it. */
  owner?: string | undefined;
  correlationId?: string | undefined;
  tenant?: string | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
  /** The workflow it is a node of. */
  workflowId?: string | undefined;
  /** Its id (default a new one): a schedule's run for a slot has an id that follows from the slot. */
  id?: string | undefined;
}

/** Creates, signs and freezes a message that starts a new piece of work. */
export function createMessage(input: NewMessage, signer: MessageSigner): TaskMessage {
  const id = input.id ?? newTaskId(input.role);
  // Members in canonical (sorted) order, here and in deriveMessage: canonicalJson's fast path.
  return seal(
    {
      createdAt: new Date().toISOString(),
      id,
      metadata: {
        causationId: null,
        correlationId: input.correlationId ?? id,
        labels: input.labels ? { ...input.labels } : {},
        ...(input.owner === undefined ? {} : { owner: input.owner }),
        source: input.source,
        ...(input.tenant === undefined ? {} : { tenant: input.tenant }),
        ...(input.workflowId === undefined ? {} : { workflowId: input.workflowId }),
      },
      payload: input.payload,
      role: input.role,
      schemaVersion: TASK_SCHEMA_VERSION,
    },
    signer,
  );
}

/**
 * Messages are never changed: a change is a new message with a new id, caused by the old one
 * and sharing its correlation id, tenant, labels and workflow, and its owner unless `next` names
 * one (a replay belongs to the key that replayed it). `next.id` names it (a run-time fan-out's
 * children have ids derived from their parent's, so a parent run again adds no second set).
 */
export function deriveMessage(
  parent: TaskMessage,
  next: { role: string; payload: unknown; source: string; owner?: string | undefined; id?: string | undefined },
  signer: MessageSigner,
): TaskMessage {
  const { tenant, workflowId } = parent.metadata;
  const owner = next.owner ?? parent.metadata.owner;
  return seal(
    {
      createdAt: new Date().toISOString(),
      id: next.id ?? newTaskId(next.role),
      metadata: {
        causationId: parent.id,
        correlationId: parent.metadata.correlationId,
        labels: { ...parent.metadata.labels },
        ...(owner === undefined ? {} : { owner }),
        source: next.source,
        ...(tenant === undefined ? {} : { tenant }),
        ...(workflowId === undefined ? {} : { workflowId }),
      },
      payload: next.payload,
      role: next.role,
      schemaVersion: TASK_SCHEMA_VERSION,
    },
    signer,
  );
}

function seal(content: Omit<TaskEnvelope, 'signature'>, signer: MessageSigner): TaskMessage {
  const signature = signer.sign(content);
  // The content object was built just now by the caller: it gets its signature in place (no copy).
  // `signature` sorts last, so the stored message stays canonical.
  const message: Omit<TaskEnvelope, 'signature'> & { signature?: TaskEnvelope['signature'] } = content;
  message.signature = signature;
  return deepFreeze(message as TaskEnvelope);
}
