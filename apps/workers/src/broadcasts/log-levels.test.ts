import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@taskyard/observability';
import { WorkerLogLevels } from './log-levels';

function collected() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ name: 'test', level: 'info', destination }) };
}

describe('WorkerLogLevels', () => {
  it('puts a stored level in force for the process and every role, a role’s own level for its lines only, and LOG_LEVEL back when none is stored', () => {
    const { lines, logger } = collected();
    const levels = new WorkerLogLevels(logger, 'info', ['echo', 'cache']);
    // An attempt's logger, made from its role's before the change, follows it too.
    const attempt = levels.forRole('echo').child({ taskId: 't1' });
    attempt.debug('hidden');
    levels.apply({ all: 'debug', roles: { cache: 'warn' } });
    attempt.debug('seen at debug');
    levels.forRole('cache').info('hidden: cache is at warn');
    logger.child({ component: 'x' }).debug('a child of the process logger follows it');
    expect(levels.levelOf()).toBe('debug');
    expect(levels.levelOf('cache')).toBe('warn');
    levels.apply({ all: undefined, roles: {} });
    attempt.debug('hidden again');
    expect(levels.levelOf('cache')).toBe('info');
    expect(lines.map((line) => line['msg'])).toEqual(['log level changed', 'seen at debug', 'a child of the process logger follows it', 'log level changed']);
    expect(lines[0]).toMatchObject({ levels: { '*': 'debug', echo: 'debug', cache: 'warn' } });
  });

  it('says nothing when nothing changes', () => {
    const { lines, logger } = collected();
    const levels = new WorkerLogLevels(logger, 'info', ['echo']);
    levels.apply({ all: undefined, roles: {} });
    levels.apply({ all: 'info', roles: { echo: 'info' } });
    expect(lines).toEqual([]);
  });
});
