import { z } from 'zod';
import { type DeepReadonly } from './deep-freeze';
import { CorrelationIdSchema, LabelsSchema, RoleNameSchema, TaskIdSchema, TenantSchema, WorkflowIdSchema } from './identifiers';

export const TASK_SCHEMA_VERSION = 1 as const;
export const SIGNATURE_ALGORITHM = 'HMAC-SHA256' as const;

export const TaskMetadataSchema = z
  .object({
    /** Shared by every message of one piece of work, across roles. */
    correlationId: CorrelationIdSchema,
    /** The id of the message whose handling produced this one; null for a message from outside. */
    causationId: TaskIdSchema.nullable(),
    /** Who made the message: `api:<key id>`, `role:<role name>`, … */
    source: z.string().min(1).max(128),
    /** The API key whose request started this piece of work (inherited by every message it causes). */
    owner: z.string().min(1).max(64).optional(),
    /** The tenant the work belongs to: the owner key's, or (operator keys) the one the client named. */
    tenant: TenantSchema.optional(),
    labels: LabelsSchema,
    /** The workflow (POST /v1/workflows) the message is a node of, inherited by every message it causes. */
    workflowId: WorkflowIdSchema.optional(),
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
export type MessageSignature = z.infer<typeof MessageSignatureSchema>;
/** A received or created message: deeply frozen, with a payload already parsed by its role's schema. */
export type TaskMessage<P = unknown> = DeepReadonly<Omit<TaskEnvelope, 'payload'> & { payload: P }>;

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
