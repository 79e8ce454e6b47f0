import { describe, expect, it } from 'vitest';
import { DISPATCH_FAILURES, DispatchError, errorClassOf, PermanentTaskError, TransientTaskError, type DispatchFailure } from '@taskyard/contracts';
import { toTaskError } from './task-error';

describe("the worker's edge of the dispatch vocabulary", () => {
  it('fails the sending task with each refusal\'s task code: permanently, or (a full queue) transiently after its wait', () => {
    const expected: Record<DispatchFailure, { code: string; class: 'permanent' | 'transient' }> = {
      UNKNOWN_ROLE: { code: 'UNKNOWN_ROLE', class: 'permanent' },
      UNKNOWN_TOPIC: { code: 'UNKNOWN_TOPIC', class: 'permanent' },
      FORBIDDEN: { code: 'SEND_FORBIDDEN', class: 'permanent' },
      INVALID: { code: 'SEND_INVALID', class: 'permanent' },
      QUEUE_FULL: { code: 'QUEUE_FULL', class: 'transient' },
    };
    expect(Object.keys(expected).sort()).toEqual(Object.keys(DISPATCH_FAILURES).sort());
    for (const [failure, { code, class: errorClass }] of Object.entries(expected) as [DispatchFailure, (typeof expected)[DispatchFailure]][]) {
      const mapped = toTaskError(new DispatchError(failure, `refused: ${failure}`)) as PermanentTaskError | TransientTaskError;
      expect({ failure, code: mapped.code, class: errorClassOf(mapped), message: mapped.message }).toEqual({ failure, code, class: errorClass, message: `refused: ${failure}` });
    }
    expect((toTaskError(new DispatchError('QUEUE_FULL', 'full')) as TransientTaskError).retryAfterMs).toBe(5000);
  });

  it('passes anything else through (a Redis outage fails the attempt transiently as it is)', () => {
    const outage = new Error('Connection is closed.');
    expect(toTaskError(outage)).toBe(outage);
  });
});
