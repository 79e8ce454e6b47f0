import { describe, expect, it } from 'vitest';
import { childrenOf } from './task-context';

describe("childrenOf: a parent's finished children as BullMQ keeps them", () => {
  it('names each child by task id and role, results and let-through failures alike, ordered by task id', async () => {
    const store = 'docs.store_00000000-0000-4000-8000-000000000002';
    const analyze = 'docs.analyze_00000000-0000-4000-8000-000000000001';
    const other = 'docs.store_00000000-0000-4000-8000-000000000001';
    const job = {
      getChildrenValues: async () => ({ [`t{docs}:docs.store:${store}`]: { stored: true }, [`t{docs}:docs.analyze:${analyze}`]: { words: 3 } }),
      getIgnoredChildrenFailures: async () => ({ [`t{docs}:docs.store:${other}`]: 'disk full' }),
    };
    expect(await childrenOf(job as never)).toEqual([
      { taskId: analyze, role: 'docs.analyze', ok: true, result: { words: 3 } },
      { taskId: other, role: 'docs.store', ok: false, error: 'disk full' },
      { taskId: store, role: 'docs.store', ok: true, result: { stored: true } },
    ]);
  });
});
