import { describe, expect, it } from 'vitest';
import { roleOfTaskId, signedContent, TaskEnvelopeSchema } from '@taskyard/contracts';
import { MessageSigner } from './message-signer';
import { createMessage, deriveMessage } from './messages';

const signer = new MessageSigner([{ id: 'k1', secret: 'a-signing-secret-of-some-length' }]);

describe('task messages', () => {
  it('are created complete, valid, signed and with an unguessable id', () => {
    const message = createMessage({ role: 'echo', payload: { message: 'hi' }, source: 'api:test' }, signer);
    expect(TaskEnvelopeSchema.parse(message)).toEqual(message);
    expect(message.metadata).toEqual({ correlationId: message.id, causationId: null, source: 'api:test', labels: {} });
    expect(message.schemaVersion).toBe(1);
    expect(signer.verify(signedContent(message), message.signature)).toBe(true);
    const ids = new Set(Array.from({ length: 1000 }, () => createMessage({ role: 'echo', payload: {}, source: 's' }, signer).id));
    expect(ids.size).toBe(1000);
    // The id names its role, so a task is found by id alone.
    expect(message.id).toMatch(/^echo_[0-9a-f-]{36}$/);
    expect(roleOfTaskId(message.id)).toBe('echo');
  });

  it('are deeply frozen: neither the message nor its payload can be changed', () => {
    const message = createMessage({ role: 'echo', payload: { nested: { list: [1, 2] } }, source: 's' }, signer);
    expect(() => {
      (message as { role: string }).role = 'other';
    }).toThrow(TypeError);
    expect(() => {
      (message.payload as { nested: { list: number[] } }).nested.list.push(3);
    }).toThrow(TypeError);
    expect(() => {
      (message.metadata.labels as Record<string, string>)['x'] = 'y';
    }).toThrow(TypeError);
  });

  it('change only by deriving a new message caused by the old one, in the same correlation', () => {
    const parent = createMessage(
      { role: 'docs.ingest', payload: { a: 1 }, source: 'api:k', correlationId: 'order-7', tenant: 'acme', labels: { team: 'x' } },
      signer,
    );
    const child = deriveMessage(parent, { role: 'docs.analyze', payload: { b: 2 }, source: 'role:docs.ingest' }, signer);
    expect(child.id).not.toBe(parent.id);
    expect(child.metadata).toEqual({
      correlationId: 'order-7',
      causationId: parent.id,
      source: 'role:docs.ingest',
      tenant: 'acme',
      labels: { team: 'x' },
    });
    expect(signer.verify(signedContent(child), child.signature)).toBe(true);
    expect(Object.isFrozen(child.metadata.labels)).toBe(true);
    expect(parent.payload).toEqual({ a: 1 });
  });

  it('reject envelopes with unknown members or a wrong schema version', () => {
    const message = createMessage({ role: 'echo', payload: {}, source: 's' }, signer);
    expect(TaskEnvelopeSchema.safeParse({ ...message, extra: 1 }).success).toBe(false);
    expect(TaskEnvelopeSchema.safeParse({ ...message, schemaVersion: 2 }).success).toBe(false);
    expect(TaskEnvelopeSchema.safeParse({ ...message, id: 'guessable-1' }).success).toBe(false);
  });
});
