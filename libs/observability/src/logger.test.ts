import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({
    name: 'test',
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  return { logger, text: () => lines.join('') };
}

describe('the logger', () => {
  it('keeps the arguments of a failed Redis command (payloads, results) out of error logs', () => {
    const { logger, text } = capture();
    const err = Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), {
      command: { name: 'set', args: ['taskyard:~msg:1', '{"card":"4111-1111"}'] },
    });
    logger.warn({ err }, 'redis is full');
    expect(text()).not.toContain('4111-1111');
    expect(JSON.parse(text())).toMatchObject({ err: { message: expect.stringContaining('OOM'), command: { name: 'set', args: '[redacted]' } } });
  });

  it('blanks secrets wherever they appear', () => {
    const { logger, text } = capture();
    logger.info({ headers: { authorization: 'Bearer s3cret-value' }, key: { secret: 'another-s3cret' } }, 'request');
    expect(text()).not.toMatch(/s3cret/);
  });
});
