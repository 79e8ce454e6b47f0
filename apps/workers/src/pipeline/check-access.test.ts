import { afterAll, describe, expect, it } from 'vitest';
import { PermanentTaskError } from '@taskyard/contracts';
import { checkAccess } from './check-access';
import { pipelineFixture } from './pipeline.fixture';

const fixture = pipelineFixture();
afterAll(() => fixture.close());

describe('step 2: access', () => {
  it('lets a source the role accepts through, and refuses others permanently (SOURCE_FORBIDDEN)', () => {
    expect(() => checkAccess(fixture.role, fixture.message({ name: 'Ada' }, 'api:main'))).not.toThrow();
    const refused = (() => {
      try {
        checkAccess(fixture.role, fixture.message({ name: 'Ada' }, 'role:intruder'));
      } catch (err) {
        return err;
      }
    })();
    expect(refused).toBeInstanceOf(PermanentTaskError);
    expect(refused).toMatchObject({ code: 'SOURCE_FORBIDDEN', message: expect.stringContaining('role:intruder') });
  });
});
