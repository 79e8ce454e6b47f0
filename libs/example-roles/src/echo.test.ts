import { describe, expect, it } from 'vitest';
import { runRole } from '@taskyard/testing';
import { echoRole } from './echo';

describe('the echo role', () => {
  it('answers its payload and the attempt', async () => {
    expect(await runRole(echoRole, { message: 'hi' })).toMatchObject({ outcome: 'completed', result: { echo: { message: 'hi' }, attempt: 1 } });
  });

  it('fails its first failTimes attempts transiently, then succeeds', async () => {
    expect(await runRole(echoRole, { failTimes: 2 }, { attempt: 2 })).toMatchObject({
      outcome: 'failed',
      error: { code: 'ECHO_PLANNED_FAILURE', class: 'transient', willRetry: true, message: 'planned failure 2 of 2' },
    });
    expect(await runRole(echoRole, { failTimes: 2 }, { attempt: 3 })).toMatchObject({ outcome: 'completed', result: { attempt: 3 } });
  });

  it('stops sleeping when its signal fires', async () => {
    const controller = new AbortController();
    const running = runRole(echoRole, { sleepMs: 60_000 }, { signal: controller.signal });
    controller.abort(new Error('cancelled'));
    expect(await running).toMatchObject({ outcome: 'failed' });
  });

  it('refuses a payload outside its schema', async () => {
    expect(await runRole(echoRole, { sleepMs: -1 })).toMatchObject({ outcome: 'failed', error: { code: 'SCHEMA_INVALID', class: 'permanent' } });
  });
});
