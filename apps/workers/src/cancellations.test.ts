import { describe, expect, it } from 'vitest';
import { CancelledError, newTaskId } from '@taskyard/contracts';
import { createLogger } from '@taskyard/observability';
import type { MessageRecords, TaskyardKeys } from '@taskyard/store';
import type { TaskyardWorker } from './bullmq-worker';
import { Cancellations, EARLY_CANCEL_MS } from './cancellations';

const logger = createLogger({ name: 'test', level: 'silent' });

/** A worker whose running jobs are `running`: what BullMQ's cancelJob would find. */
function workerRunning(running: Set<string>, aborted: { id: string; reason: Error }[]): TaskyardWorker {
  return {
    abort: (jobId: string, reason: Error) => {
      if (!running.has(jobId)) return false;
      aborted.push({ id: jobId, reason });
      return true;
    },
    activeJobIds: () => [...running],
  } as unknown as TaskyardWorker;
}

function cancellationsWith(running: Set<string>, records: Record<string, 'cancelled' | 'done'> = {}) {
  const aborted: { id: string; reason: Error }[] = [];
  const store = { readMany: async (ids: string[]) => ids.map((id) => (records[id] ? { status: records[id] } : undefined)) } as unknown as MessageRecords;
  const cancellations = new Cancellations(store, { cancelChannel: 'c' } as TaskyardKeys, logger);
  cancellations.register('echo', workerRunning(running, aborted));
  return { cancellations, aborted };
}

describe('cancellations of active tasks', () => {
  it('abort the attempt running here with a CancelledError (BullMQ cancelJob)', () => {
    const id = newTaskId('echo');
    const { cancellations, aborted } = cancellationsWith(new Set([id]));
    cancellations.cancel(id);
    expect(aborted).toEqual([{ id, reason: expect.any(CancelledError) }]);
    expect(cancellations.takeEarly(id)).toBe(false);
  });

  it('keep one that arrives before its attempt started, once, for EARLY_CANCEL_MS', () => {
    const id = newTaskId('echo');
    const { cancellations, aborted } = cancellationsWith(new Set());
    const now = Date.now();
    cancellations.cancel(id, now);
    expect(aborted).toEqual([]);
    expect(cancellations.takeEarly(id, now + 10)).toBe(true);
    // Used once: a later attempt of the same task is not cancelled again by the same message.
    expect(cancellations.takeEarly(id, now + 20)).toBe(false);

    const late = newTaskId('echo');
    cancellations.cancel(late, now);
    expect(cancellations.takeEarly(late, now + EARLY_CANCEL_MS + 1)).toBe(false);
  });

  it('ignore tasks of roles this process does not run, and ids that are not task ids', () => {
    const { cancellations, aborted } = cancellationsWith(new Set());
    cancellations.cancel(newTaskId('docs.store'));
    cancellations.cancel('not-a-task');
    expect(aborted).toEqual([]);
  });
});
