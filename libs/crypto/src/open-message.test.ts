import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentTaskError, SchemaError, SignatureError } from '@taskyard/contracts';
import { MessageSigner } from './message-signer';
import { createMessage } from './messages';
import { openMessage } from './open-message';

/** A role as openMessage sees it: its name and its input schema. */
const echoRole = {
  name: 'echo',
  input: z.object({ message: z.string().optional(), sleepMs: z.number().int().min(0).optional() }).strict(),
};

const signer = new MessageSigner([{ id: 'k1', secret: 'a-signing-secret-of-some-length' }]);
/** What a job's data looks like after the JSON round trip through Redis. */
const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('openMessage (a worker receiving a job)', () => {
  it('returns the verified, parsed and frozen message', () => {
    const sent = createMessage({ role: 'echo', payload: { message: 'hi', sleepMs: 5 }, source: 's' }, signer);
    const received = openMessage(roundTrip(sent), echoRole, signer);
    expect(received).toEqual(sent);
    expect(Object.isFrozen(received.payload)).toBe(true);
  });

  it('fails permanently with a signature error when the data was altered', () => {
    const sent = roundTrip(createMessage({ role: 'echo', payload: { message: 'hi' }, source: 's' }, signer));
    const altered = { ...sent, payload: { message: 'transfer everything' } };
    expect(() => openMessage(altered, echoRole, signer)).toThrow(SignatureError);
    expect(() => openMessage(altered, echoRole, signer)).toThrow(PermanentTaskError);
    const relabelled = { ...sent, metadata: { ...sent.metadata, tenant: 'someone-else' } };
    expect(() => openMessage(relabelled, echoRole, signer)).toThrow(SignatureError);
  });

  it('hands the handler only signed members: one added in Redis is dropped', () => {
    const sent = roundTrip(createMessage({ role: 'echo', payload: { message: 'hi' }, source: 's' }, signer));
    const received = openMessage({ ...sent, admin: true }, echoRole, signer);
    expect(received).toEqual(sent);
    expect(received).not.toHaveProperty('admin');
  });

  it('refuses a signed envelope of another version', () => {
    const sent = roundTrip(createMessage({ role: 'echo', payload: { message: 'hi' }, source: 's' }, signer));
    const { signature: _old, ...content } = { ...sent, schemaVersion: 2 };
    const future = { ...content, signature: signer.sign(content) };
    expect(() => openMessage(future, echoRole, signer)).toThrow(/envelope version 2/);
    expect(() => openMessage(future, echoRole, signer)).toThrow(SchemaError);
  });

  it('fails permanently with a schema error for a non-envelope, another role, or a payload the role rejects', () => {
    expect(() => openMessage({ hello: 'world' }, echoRole, signer)).toThrow(SchemaError);
    expect(() => openMessage(null, echoRole, signer)).toThrow(/not a valid task envelope/);
    const unsigned = roundTrip(createMessage({ role: 'echo', payload: { message: 'hi' }, source: 's' }, signer)) as Record<string, unknown>;
    delete unsigned['signature'];
    expect(() => openMessage(unsigned, echoRole, signer)).toThrow(SchemaError);
    const forDocs = roundTrip(createMessage({ role: 'docs.store', payload: {}, source: 's' }, signer));
    expect(() => openMessage(forDocs, echoRole, signer)).toThrow(/not "echo"/);
    const badPayload = roundTrip(createMessage({ role: 'echo', payload: { sleepMs: -1 }, source: 's' }, signer));
    const error = (() => {
      try {
        openMessage(badPayload, echoRole, signer);
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(SchemaError);
    expect((error as SchemaError).issues[0]?.path).toBe('sleepMs');
  });
});
