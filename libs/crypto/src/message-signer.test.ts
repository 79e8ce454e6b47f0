import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from '@taskyard/contracts';
import { canonicalJson, JsonDepthError } from './canonical-json';
import { MessageSigner } from './message-signer';

const oldKey = { id: 'old', secret: 'old-secret-0123456789' };
const newKey = { id: 'new', secret: 'new-secret-0123456789' };

describe('canonical JSON', () => {
  it('is independent of key order and drops undefined members, like JSON.stringify otherwise', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true } })).toBe(canonicalJson({ a: { c: true, d: [1, 'x', null] }, b: 1 }));
    expect(canonicalJson({ b: 1, a: undefined, c: [undefined] })).toBe('{"b":1,"c":[null]}');
    const value = { z: 'ü\n"', n: -0.5, e: 1e21, nested: { list: [{ y: 1, x: 2 }] } };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('refuses values nested past the limit instead of exhausting the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(JsonDepthError);
    expect(jsonDepthExceeds(deep, 64)).toBe(true);
    expect(jsonDepthExceeds({ a: [{ b: 1 }] }, 64)).toBe(false);
  });
});

describe('MessageSigner', () => {
  const content = { id: 'x', payload: { amount: 10, to: 'alice' } };

  it('verifies what it signed and rejects any change to it', () => {
    const signer = new MessageSigner([newKey]);
    const signature = signer.sign(content);
    expect(signature).toMatchObject({ kid: 'new', alg: 'HMAC-SHA256' });
    expect(signature.value).toMatch(/^[0-9a-f]{64}$/);
    expect(signer.verify({ payload: { to: 'alice', amount: 10 }, id: 'x' }, signature)).toBe(true);
    expect(signer.verify({ id: 'x', payload: { amount: 11, to: 'alice' } }, signature)).toBe(false);
    expect(signer.verify(content, { ...signature, value: '0'.repeat(64) })).toBe(false);
    expect(signer.verify(content, { ...signature, value: 'abc' })).toBe(false);
  });

  it('signs with the first key and verifies with all of them, so keys can rotate', () => {
    const before = new MessageSigner([oldKey]);
    const during = new MessageSigner([newKey, oldKey]);
    const after = new MessageSigner([newKey]);
    const signedBefore = before.sign(content);
    expect(during.verify(content, signedBefore)).toBe(true);
    expect(during.sign(content).kid).toBe('new');
    expect(after.verify(content, signedBefore)).toBe(false);
  });

  it('rejects a signature made with a key of the same id but another secret', () => {
    const forger = new MessageSigner([{ id: 'new', secret: 'guessed-secret-012345' }]);
    expect(new MessageSigner([newKey]).verify(content, forger.sign(content))).toBe(false);
  });
});
