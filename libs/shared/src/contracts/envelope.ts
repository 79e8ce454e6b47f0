import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SIGNATURE_ALGORITHM, type MessageSigner } from '../crypto/message-signer';
import { deepFreeze, type DeepReadonly } from './deep-freeze';
import { CorrelationIdSchema, LabelsSchema, RoleNameSchema, TaskIdSchema } from './identifiers';

export const TASK_SCHEMA_VERSION = 1 as const;

export const TaskMetadataSchema = z
  .object({
    /** Shared by every message of one piece of work, across roles. */
    correlationId: CorrelationIdSchema,
    /** The id of the message whose handling produced this one; null for a message from outside. */
    causationId: TaskIdSchema.nullable(),
    /** Who made the message: `api:<key id>`, `role:<role name>`, … */
    source: z.string().min(1).max(128),
    tenant: z.string().min(1).max(128).optional(),
    labels: LabelsSchema,
  })
  .strict();

export const MessageSignatureSchema = z
  .object({
    kid: z.string().min(1).max(64),
    alg: z.literal(SIGNATURE_ALGORITHM),
    value: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

/** The one message format: what the API enqueues, what Redis holds, what a worker verifies. */
export const TaskEnvelopeSchema = z
  .object({
    id: TaskIdSchema,
    role: RoleNameSchema,
    payload: z.unknown(),
    metadata: TaskMetadataSchema,
    createdAt: z.iso.datetime(),
    schemaVersion: z.literal(TASK_SCHEMA_VERSION),
    signature: MessageSignatureSchema,
  })
  .strict();

export type TaskMetadata = z.infer<typeof TaskMetadataSchema>;
export type TaskEnvelope = z.infer<typeof TaskEnvelopeSchema>;
/** A received or created message: deeply frozen, with a payload already parsed by its role's schema. */
export type TaskMessage<P = unknown> = DeepReadonly<Omit<TaskEnvelope, 'payload'> & { payload: P }>;

export interface NewMessage {
  role: string;
  payload: unknown;
  source: string;
  correlationId?: string | undefined;
  tenant?: string | undefined;
  labels?: Record<string, string> | undefined;
}

/** Creates, signs and freezes a message that starts a new piece of work. */
export function createMessage(input: NewMessage, signer: MessageSigner): TaskMessage {
  const id = randomUUID();
  // Members in canonical (sorted) order, here and in deriveMessage: canonicalJson's fast path.
  return seal(
    {
      createdAt: new Date().toISOString(),
      id,
      metadata: {
        causationId: null,
        correlationId: input.correlationId ?? id,
        labels: input.labels ?? {},
        source: input.source,
        ...(input.tenant === undefined ? {} : { tenant: input.tenant }),
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
 * and sharing its correlation id, tenant and labels.
 */
export function deriveMessage(
  parent: TaskMessage,
  next: { role: string; payload: unknown; source: string },
  signer: MessageSigner,
): TaskMessage {
  const { tenant } = parent.metadata;
  return seal(
    {
      createdAt: new Date().toISOString(),
      id: randomUUID(),
      metadata: {
        causationId: parent.id,
        correlationId: parent.metadata.correlationId,
        labels: { ...parent.metadata.labels },
        source: next.source,
        ...(tenant === undefined ? {} : { tenant }),
      },
      payload: next.payload,
      role: next.role,
      schemaVersion: TASK_SCHEMA_VERSION,
    },
    signer,
  );
}

/**
 * Exactly what the signature covers: every member a message has but its signature, in canonical
 * order. Anything else on the object (say, a member added in Redis) is left out, so it can
 * neither break a valid signature nor ride along on one.
 */
export function signedContent(message: DeepReadonly<TaskEnvelope> | TaskEnvelope): Omit<TaskEnvelope, 'signature'> {
  return {
    createdAt: message.createdAt,
    id: message.id,
    metadata: message.metadata as TaskEnvelope['metadata'],
    payload: message.payload,
    role: message.role,
    schemaVersion: message.schemaVersion,
  };
}

function seal(content: Omit<TaskEnvelope, 'signature'>, signer: MessageSigner): TaskMessage {
  const signature = signer.sign(content);
  // The content object was built just now by the caller: it gets its signature in place (no copy).
  // `signature` sorts last, so the stored message stays canonical.
  const message: Omit<TaskEnvelope, 'signature'> & { signature?: TaskEnvelope['signature'] } = content;
  message.signature = signature;
  return deepFreeze(message as TaskEnvelope);
}
