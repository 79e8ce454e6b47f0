--[[
  Takes the one probe of a half-open circuit: only once the shared open period has passed (a
  replica whose reset timer ran early, or that missed a reopen, must not probe), and only one
  replica gets it.

  Input:
    KEYS[1] the role's circuit record (a hash with 'until')
    KEYS[2] the probe lock
    ARGV[1] now, epoch ms
    ARGV[2] holder (the replica's name)
    ARGV[3] lock TTL, ms

  Output: { 1 | 0, until }
]]
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until') or '0') or 0
if untilMs > tonumber(ARGV[1]) then return {0, untilMs} end
if redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3], 'NX') then return {1, untilMs} end
return {0, untilMs}
