import { describe, expect, it } from 'vitest';
import { roleOfTaskId, TaskIdSchema } from '@taskyard/contracts';
import { derivedTaskId } from './derived-task-id';

describe('derivedTaskId', () => {
  it('is a task id of its role, the same for the same seed and another for another', () => {
    const id = derivedTaskId('docs.store', 'docs.ingest_x/children[0]');
    expect(TaskIdSchema.safeParse(id).success).toBe(true);
    expect(roleOfTaskId(id)).toBe('docs.store');
    expect(id).toMatch(/_[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedTaskId('docs.store', 'docs.ingest_x/children[0]')).toBe(id);
    expect(derivedTaskId('docs.store', 'docs.ingest_x/children[1]')).not.toBe(id);
  });
});
