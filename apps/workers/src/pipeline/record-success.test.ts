import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@taskyard/config';
import { EffectsLedger } from '../effects-ledger';
import { pipelineFixture } from './pipeline.fixture';
import { recordSuccess } from './record-success';

const fixture = pipelineFixture();
afterAll(() => fixture.close());

describe('step 8: the record of a completed attempt', () => {
  it('writes the ledger record with the output and counts the completion and its duration', async () => {
    const config = loadConfig({ API_KEYS: 'a:0123456789abcdef', SIGNING_KEYS: 'k:0123456789abcdef', QUEUE_PREFIX: fixture.prefix }, { knownRoles: ['greet'] });
    const ledger = new EffectsLedger(fixture.records, config, fixture.logger);
    const message = fixture.message();
    const attempt = fixture.attempt(await fixture.job(message));
    attempt.message = message;

    recordSuccess(attempt, fixture.role, { greeting: 'hello, Ada' }, ledger, fixture.series, false);

    await expect.poll(() => fixture.records.read(message.id)).toMatchObject({ status: 'done', result: { greeting: 'hello, Ada' } });
    const text = await fixture.metrics.registry.metrics();
    expect(text).toMatch(/taskyard_tasks_processed_total\{role="greet",outcome="completed"\} 1\n/);
    expect(text).toMatch(/taskyard_task_duration_seconds_count\{role="greet"\} 1\n/);
  });
});
