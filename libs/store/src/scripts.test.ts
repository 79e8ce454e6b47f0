import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LuaScripts } from './scripts';

const LUA_DIR = resolve(__dirname, '../lua');
// Never connects: defining a command needs no server.
const redis = new Redis({ lazyConnect: true });
afterAll(() => redis.disconnect());

describe('LuaScripts', () => {
  it('refuses a script that would replace a command or another set\'s script on the same connection', () => {
    expect(() => new LuaScripts(LUA_DIR, { get: { file: 'release-once-claim.lua', keys: 1 } }).on(redis)).toThrow(/"get" \(release-once-claim\.lua\) would replace/);
    new LuaScripts(LUA_DIR, { testReleaseClaim: { file: 'release-once-claim.lua', keys: 1 } }).on(redis);
    expect(() => new LuaScripts(LUA_DIR, { testReleaseClaim: { file: 'claim-circuit-probe.lua', keys: 2 } }).on(redis)).toThrow(/would replace/);
    // The very same script again (a connection reached through a wrapper) is no clash.
    expect(() => new LuaScripts(LUA_DIR, { testReleaseClaim: { file: 'release-once-claim.lua', keys: 1 } }).on(redis)).not.toThrow();
  });

  it('defines a set once per connection', () => {
    const scripts = new LuaScripts(LUA_DIR, { testClaimProbe: { file: 'claim-circuit-probe.lua', keys: 2 } });
    expect(scripts.on(redis)).toBe(scripts.on(redis));
    expect(typeof scripts.on(redis).testClaimProbe).toBe('function');
  });
});
