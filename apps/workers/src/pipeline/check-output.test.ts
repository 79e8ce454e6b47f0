import { afterAll, describe, expect, it } from 'vitest';
import { SchemaError } from '@taskyard/contracts';
import { checkOutput } from './check-output';
import { pipelineFixture } from './pipeline.fixture';

const fixture = pipelineFixture();
afterAll(() => fixture.close());

describe('step 7: the output check', () => {
  it('passes a result that matches the role output schema (parsed), and refuses one that does not', () => {
    expect(checkOutput(fixture.role, { greeting: 'hi', extra: 1 })).toEqual({ greeting: 'hi' });
    const error = (() => {
      try {
        checkOutput(fixture.role, { greeting: 42 });
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(SchemaError);
    expect((error as SchemaError).issues).toEqual([expect.objectContaining({ path: 'greeting' })]);
  });

  it('passes anything for a role without an output schema', () => {
    expect(checkOutput({ ...fixture.role, output: undefined }, 'free-form')).toBe('free-form');
  });
});
