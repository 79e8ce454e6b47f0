import { describe, expect, it } from 'vitest';
import { canTransition, InvalidTransitionError, isTerminal, TASK_STATES, TaskHistory } from './task-state';

describe('the task state machine', () => {
  it('allows the lifecycle of a task that is retried and then completes', () => {
    const history = new TaskHistory()
      .transition('queued', 1000)
      .transition('active', 1001, { attempt: 1 })
      .transition('delayed', 1002, { attempt: 1, reason: 'TRANSIENT: boom' })
      .transition('active', 1200, { attempt: 2 })
      .transition('completed', 1201, { attempt: 2 });
    expect(history.state).toBe('completed');
    expect(history.toJSON().map((entry) => entry.state)).toEqual(['queued', 'active', 'delayed', 'active', 'completed']);
    expect(history.toJSON()[0]?.at).toBe(new Date(1000).toISOString());
  });

  it('refuses impossible transitions with a typed error', () => {
    expect(() => new TaskHistory().transition('active', 1)).toThrow(InvalidTransitionError);
    expect(() => new TaskHistory().transition('queued', 1).transition('completed', 2)).toThrow(/queued to completed/);
    const done = new TaskHistory().transition('queued', 1).transition('active', 2).transition('failed', 3);
    expect(() => done.transition('active', 4)).toThrow(InvalidTransitionError);
  });

  it('has exactly three terminal states, and every state is reachable', () => {
    expect(TASK_STATES.filter(isTerminal)).toEqual(['completed', 'failed', 'cancelled']);
    for (const state of TASK_STATES) {
      const reachable = canTransition(null, state) || TASK_STATES.some((from) => canTransition(from, state));
      expect(reachable, state).toBe(true);
    }
  });
});
