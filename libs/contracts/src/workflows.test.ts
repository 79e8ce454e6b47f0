import { describe, expect, it } from 'vitest';
import { SubmitWorkflowBodySchema, workflowState, type WorkflowNodeView } from './workflows';

const node = (state: WorkflowNodeView['state'], children: WorkflowNodeView[] = []): WorkflowNodeView => ({ taskId: 'x_1', role: 'x', state, children });

describe('workflowState', () => {
  it("is the root's once that is finished, else active once any node started, else queued or delayed", () => {
    expect(workflowState(node('completed', [node('completed')]))).toBe('completed');
    expect(workflowState(node('failed', [node('failed')]))).toBe('failed');
    expect(workflowState(node('cancelled', [node('active')]))).toBe('cancelled');
    expect(workflowState(node('queued', [node('queued'), node('completed')]))).toBe('active');
    expect(workflowState(node('queued', [node('active')]))).toBe('active');
    expect(workflowState(node('queued', [node('queued'), node('delayed')]))).toBe('queued');
    expect(workflowState(node('delayed', [node('delayed')]))).toBe('delayed');
    expect(workflowState(node('gone'))).toBe('gone');
  });
});

describe('SubmitWorkflowBodySchema', () => {
  it('takes a nested tree and refuses unknown members at any depth', () => {
    const root = { role: 'a', payload: {}, children: [{ role: 'b', payload: 1, children: [{ role: 'c', payload: null, onChildFailure: 'ignore' }] }] };
    expect(SubmitWorkflowBodySchema.safeParse({ root }).success).toBe(true);
    const bad = { role: 'a', payload: {}, children: [{ role: 'b', payload: 1, children: [{ role: 'c', payload: null, extra: true }] }] };
    const parsed = SubmitWorkflowBodySchema.safeParse({ root: bad });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['root', 'children', 0, 'children', 0]);
    expect(SubmitWorkflowBodySchema.safeParse({ root: { role: 'a', payload: {}, onChildFailure: 'maybe' } }).success).toBe(false);
  });
});
