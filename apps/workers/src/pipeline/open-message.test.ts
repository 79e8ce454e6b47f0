import { afterAll, describe, expect, it } from 'vitest';
import { SchemaError, SignatureError } from '@taskyard/contracts';
import { openAttemptMessage } from './open-message';
import { pipelineFixture } from './pipeline.fixture';

const fixture = pipelineFixture();
afterAll(() => fixture.close());

describe('step 1: open and verify', () => {
  it('hands on the verified message, parsed and frozen, and keeps it on the attempt', async () => {
    const sent = fixture.message({ name: 'Grace' });
    const attempt = fixture.attempt(await fixture.job(sent));
    const message = openAttemptMessage(attempt, fixture.role, fixture.signer);
    expect(message).toEqual(sent);
    expect(Object.isFrozen(message.payload)).toBe(true);
    expect(attempt.message).toBe(message);
  });

  it('refuses a job altered in Redis (SIGNATURE_INVALID) and one that is no message (SCHEMA_INVALID)', async () => {
    const sent = fixture.message();
    const altered = fixture.attempt(await fixture.job(sent, { ...sent, payload: { name: 'Mallory' } }));
    expect(() => openAttemptMessage(altered, fixture.role, fixture.signer)).toThrow(SignatureError);
    expect(altered.message).toBeUndefined();
    const junk = fixture.attempt(await fixture.rawJob({ hello: 'world' }));
    expect(() => openAttemptMessage(junk, fixture.role, fixture.signer)).toThrow(SchemaError);
  });
});
