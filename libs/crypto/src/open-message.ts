import type { z } from 'zod';
import {
  deepFreeze,
  SchemaError,
  SIGNATURE_ALGORITHM,
  SignatureError,
  signedContent,
  TASK_SCHEMA_VERSION,
  TaskEnvelopeSchema,
  toIssues,
  type TaskEnvelope,
  type TaskMessage,
} from '@taskyard/contracts';
import type { MessageSigner } from './message-signer';

/** What opening a message needs of its role: the name it must carry and the schema its payload must match. */
export interface MessageTarget {
  readonly name: string;
  readonly input: z.ZodType;
}

/**
 * Redis is a trust boundary: a received job is authenticated (its signature verified over
 * exactly the members a message has), its envelope version and role checked, and its payload
 * parsed by the role's schema before any handler sees it. Every failure here is permanent:
 * retrying cannot make a forged or malformed message valid.
 *
 * The envelope's shape is not re-parsed with TaskEnvelopeSchema once the signature holds: only a
 * holder of a signing key can make a message that verifies, and key holders make them with
 * createMessage/deriveMessage, which build them in that shape (the schema version guards against
 * another format). That parse cost a tenth of the worker's CPU per task; it still runs for data
 * that is not even shaped like a signed envelope, to say what is wrong with it.
 */
export function openMessage(data: unknown, role: MessageTarget, signer: MessageSigner): TaskMessage<unknown> {
  if (!isSignedEnvelope(data)) {
    const parsed = TaskEnvelopeSchema.safeParse(data);
    throw new SchemaError('job data is not a valid task envelope', parsed.success ? [] : toIssues(parsed.error));
  }
  // A member added in Redis is dropped (it was never signed): the signature covers everything
  // the handler will see.
  const content = signedContent(data);
  if (!signer.verify(content, data.signature)) {
    throw new SignatureError(`signature check failed for task ${data.id} (key "${data.signature.kid}")`);
  }
  if (data.schemaVersion !== TASK_SCHEMA_VERSION) {
    throw new SchemaError(`task ${data.id} has envelope version ${String(data.schemaVersion)}; this worker reads version ${TASK_SCHEMA_VERSION}`);
  }
  if (data.role !== role.name) {
    throw new SchemaError(`task ${data.id} is for role "${data.role}", not "${role.name}"`);
  }
  const payload = role.input.safeParse(data.payload);
  if (!payload.success) throw new SchemaError(`payload does not match role "${role.name}"`, toIssues(payload.error));
  return deepFreeze({ ...content, payload: payload.data, signature: data.signature }) as TaskMessage<unknown>;
}

/** Shaped like a signed envelope: enough to verify it and to name it in errors (typeof checks only). */
function isSignedEnvelope(data: unknown): data is TaskEnvelope {
  if (typeof data !== 'object' || data === null) return false;
  const { id, role, createdAt, metadata, signature } = data as Partial<Record<keyof TaskEnvelope, unknown>>;
  if (typeof id !== 'string' || typeof role !== 'string' || typeof createdAt !== 'string') return false;
  if (typeof metadata !== 'object' || metadata === null || typeof signature !== 'object' || signature === null) return false;
  const { kid, alg, value } = signature as Partial<Record<string, unknown>>;
  return typeof kid === 'string' && alg === SIGNATURE_ALGORITHM && typeof value === 'string';
}
