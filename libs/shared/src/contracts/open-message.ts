import type { z } from 'zod';
import type { MessageSigner } from '../crypto/message-signer';
import { SchemaError, SignatureError } from '../errors/permanent-task-error';
import { deepFreeze } from './deep-freeze';
import { signedContent, TaskEnvelopeSchema, type TaskEnvelope, type TaskMessage } from './envelope';
import type { AnyRole } from './role';

/**
 * Redis is a trust boundary: a received job is checked as an envelope, its signature verified
 * and its payload parsed by the role's schema before any handler sees it. Every failure here
 * is permanent: retrying cannot make a forged or malformed message valid.
 */
export function openMessage(data: unknown, role: AnyRole, signer: MessageSigner): TaskMessage<unknown> {
  const envelope = TaskEnvelopeSchema.safeParse(data);
  if (!envelope.success) throw new SchemaError('job data is not a valid task envelope', toIssues(envelope.error));
  // Verify over what was received (zod's copy has the schema's key order, which would send
  // canonicalJson down its slow path); the schema check above already vouched for its shape.
  if (!signer.verify(signedContent(data as TaskEnvelope), envelope.data.signature)) {
    throw new SignatureError(`signature check failed for task ${envelope.data.id} (key "${envelope.data.signature.kid}")`);
  }
  if (envelope.data.role !== role.name) {
    throw new SchemaError(`task ${envelope.data.id} is for role "${envelope.data.role}", not "${role.name}"`);
  }
  const payload = (role.input as z.ZodType).safeParse(envelope.data.payload);
  if (!payload.success) throw new SchemaError(`payload does not match role "${role.name}"`, toIssues(payload.error));
  return deepFreeze({ ...envelope.data, payload: payload.data }) as TaskMessage<unknown>;
}

export function toIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}
