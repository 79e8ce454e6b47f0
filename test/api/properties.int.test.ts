import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openMessage, MessageSigner } from '@taskyard/crypto';
import { builtInRoles } from '@taskyard/example-roles';
import { TaskyardKeys } from '@taskyard/store';
import { usePlatform } from '../support/platform';
import { TEST_SIGNING_KEY, testRedis } from '../support/test-env';
import { waitForState } from './helpers';

/** Strings a client may send that break naive code: both Unicode normal forms, lone surrogates, NUL, bidi marks, keys that pollute prototypes. */
const awkwardString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('e\u0301', '\u00e9', '\ud800', '\udfff', 'a\u0000b', '\u202eevil\u202c', '\u200f', '__proto__', 'constructor', 'prototype', '%00', '../..', '\ufeff'),
);
const awkwardJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    awkwardString,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(awkwardString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A raw body: JSON with `__proto__` members written out (JSON.stringify would drop them), or not JSON at all. */
const rawBody = fc.oneof(
  awkwardJson.map((value) => JSON.stringify(value) ?? 'null'),
  awkwardJson.map((value) => `{"__proto__":{"polluted":true},"role":"echo","payload":${JSON.stringify(value) ?? 'null'}}`),
  awkwardJson.map((value) => `{"role":"echo","payload":{"constructor":{"prototype":{"polluted":true}},"x":${JSON.stringify(value) ?? 'null'}}}`),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

const RUNS = 40;

describe('every JSON endpoint, against what a hostile or careless client sends', () => {
  const { api, env } = usePlatform({ AUTH_FAILURES_PER_MINUTE: '0' });

  async function expectAnswered(method: string, path: string, body?: string): Promise<void> {
    const response = await api.request(method, path, body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } });
    expect(response.status, `${method} ${path} ${body ?? ''} → ${response.text}`).toBeLessThan(500);
    if (response.status >= 400) {
      expect(Object.keys(response.body ?? {}), response.text).toEqual(['error']);
      expect(typeof response.body.error.code).toBe('string');
      expect(typeof response.body.error.message).toBe('string');
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  }

  it('never answers 5xx, always in the error envelope, and pollutes no prototype: bodies', async () => {
    for (const path of ['/v1/tasks', '/v1/tasks/batch', '/v1/topics/greeting', '/v1/dead-letters/replay']) {
      await fc.assert(fc.asyncProperty(rawBody, (body) => expectAnswered('POST', path, body)), { numRuns: RUNS });
    }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...builtInRoles.names()), awkwardJson, fc.option(awkwardJson), (role, payload, options) =>
        expectAnswered('POST', '/v1/tasks', JSON.stringify({ role, payload, ...(options === null ? {} : { options }) })),
      ),
      { numRuns: RUNS },
    );
  });

  it('never answers 5xx for any id, cursor or query: paths and query strings', async () => {
    // Percent-encoded (a lone surrogate as its replacement character), plus escapes that are not UTF-8 or not escapes at all.
    const segment = fc.oneof(
      awkwardString.map((value) => encodeURIComponent(Buffer.from(value, 'utf8').toString('utf8'))),
      fc.constantFrom('%ED%A0%80', '%C0%80', '%FF', '%ZZ', '%', '%00', 'a'.repeat(300)),
    );
    await fc.assert(
      fc.asyncProperty(segment, async (id) => {
        await expectAnswered('GET', `/v1/tasks/${id}`);
        await expectAnswered('DELETE', `/v1/tasks/${id}`);
        await expectAnswered('GET', `/v1/dead-letters/${id}`);
        await expectAnswered('POST', `/v1/dead-letters/${id}/replay`);
        await expectAnswered('DELETE', `/v1/dead-letters/${id}`);
        await expectAnswered('GET', `/v1/documents/${id}`);
        await expectAnswered('GET', `/v1/dead-letters?cursor=${id}&limit=${id}&role=${id}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps a payload’s exact characters through the queue, the worker and back, under a signature that still verifies', async () => {
    const redis = testRedis();
    const keys = new TaskyardKeys(env['QUEUE_PREFIX']!);
    const signer = new MessageSigner([TEST_SIGNING_KEY]);
    const echo = builtInRoles.get('echo')!;
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), awkwardString), async (message) => {
          const id = await api.submit('echo', { message });
          const view = await waitForState(api, id, 'completed');
          expect(view.result.echo.message).toBe(message);
          const stored = JSON.parse((await redis.hget(keys.job(id), 'data'))!) as unknown;
          expect(openMessage(stored, echo, signer).payload).toEqual({ message });
        }),
        { numRuns: 25 },
      );
    } finally {
      redis.disconnect();
    }
  });
});
