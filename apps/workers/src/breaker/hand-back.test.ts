import { EventEmitter } from 'node:events';
import { RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { CancelledError, PermanentTaskError, SchemaError, TaskTimeoutError, TransientTaskError } from '@taskyard/contracts';
import { handBackDelayMs, handBackError, isHandBack, probeWaitMs } from './hand-back';
import { countsAgainstCircuit, opossumOptions } from './role-circuit';

describe('handing a job back', () => {
  it("uses BullMQ's RateLimitError, and only that counts as a hand back", () => {
    expect(handBackError()).toBeInstanceOf(RateLimitError);
    expect(isHandBack(Worker.RateLimitError())).toBe(true);
    expect(isHandBack(new TransientTaskError('down'))).toBe(false);
    expect(isHandBack(new Error('bullmq:rateLimitExceeded!'))).toBe(false);
  });

  it('keeps replicas off the queue for the rest of the open period', () => {
    expect(handBackDelayMs({ circuit: 'open', until: 5000, halfOpenAt: 5000 }, 1000, 1000)).toBe(4000);
  });

  it("after the open period, waits only for this replica's reset timer, at most the probe wait", () => {
    expect(handBackDelayMs({ circuit: 'open', until: 5000, halfOpenAt: 5030 }, 5010, 1000)).toBe(20);
    expect(handBackDelayMs({ circuit: 'open', until: 5000, halfOpenAt: 9000 }, 5010, 1000)).toBe(1000);
    expect(handBackDelayMs({ circuit: 'open', until: 5000, halfOpenAt: 5000 }, 5010, 1000)).toBe(1);
  });

  it('while a probe runs, looks again after the probe wait', () => {
    expect(handBackDelayMs({ circuit: 'probing' }, 5000, 1000)).toBe(1000);
    expect(probeWaitMs(30_000)).toBe(1000);
    expect(probeWaitMs(200)).toBe(200);
  });
});

describe("the breaker's failure filter", () => {
  it('counts transient failures and timeouts, not permanent ones or cancellations', () => {
    expect(countsAgainstCircuit(new TransientTaskError('down'))).toBe(true);
    expect(countsAgainstCircuit(new TaskTimeoutError(100))).toBe(true);
    expect(countsAgainstCircuit(new Error('socket hang up'))).toBe(true);
    expect(countsAgainstCircuit(new PermanentTaskError('bad'))).toBe(false);
    expect(countsAgainstCircuit(new SchemaError('bad'))).toBe(false);
    expect(countsAgainstCircuit(new CancelledError())).toBe(false);
    expect(countsAgainstCircuit(new UnrecoverableError('bad'))).toBe(false);
  });

  it("maps the role's thresholds onto opossum, leaving timeouts to the role", () => {
    const options = opossumOptions({ errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeoutMs: 2000, rollingWindowMs: 10_000 }, new EventEmitter());
    expect(options).toMatchObject({ errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeout: 2000, rollingCountTimeout: 10_000, timeout: false });
    expect(options.errorFilter?.(new PermanentTaskError('bad'))).toBe(true);
    expect(options.errorFilter?.(new TransientTaskError('down'))).toBe(false);
  });
});
