import { describe, expect, it } from 'vitest';
import { DISPATCH_FAILURES, DispatchError, type DispatchFailure } from '@taskyard/contracts';
import { API_ERRORS, fromDispatchError } from './api-error';

describe("the API's edge of the dispatch vocabulary", () => {
  it('answers each refusal with its code and status, its details unchanged', () => {
    const expected: Record<DispatchFailure, [string, number]> = {
      UNKNOWN_ROLE: ['UNKNOWN_ROLE', 404],
      UNKNOWN_TOPIC: ['UNKNOWN_TOPIC', 404],
      FORBIDDEN: ['FORBIDDEN', 403],
      INVALID: ['VALIDATION_FAILED', 400],
      QUEUE_FULL: ['QUEUE_FULL', 429],
    };
    expect(Object.keys(expected).sort()).toEqual(Object.keys(DISPATCH_FAILURES).sort());
    for (const [failure, [code, status]] of Object.entries(expected) as [DispatchFailure, [string, number]][]) {
      const details = { field: 'payload', failure };
      const answer = fromDispatchError(new DispatchError(failure, `refused: ${failure}`, details));
      expect({ code: answer.code, status: answer.statusCode, message: answer.message, details: answer.details }).toEqual({ code, status, message: `refused: ${failure}`, details });
      expect(API_ERRORS[answer.code]).toBe(status);
    }
  });

  it('tells a refused sender of a full queue when to retry', () => {
    expect(fromDispatchError(new DispatchError('QUEUE_FULL', 'full')).headers).toEqual({ 'retry-after': '5' });
    expect(fromDispatchError(new DispatchError('FORBIDDEN', 'no')).headers).toEqual({});
  });
});
