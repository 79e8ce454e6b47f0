--[[
  Claims the replay of a dead letter: the first caller's message is stored and every caller gets
  the stored one back, so concurrent replays enqueue the same message (same job id: one task).
  Nothing is claimed once the dead letter is gone, so a replay that lost the race to a finished
  one cannot enqueue a second task.

  Input:
    KEYS[1] dead letter
    KEYS[2] replay claim
    ARGV[1] the derived message (JSON)
    ARGV[2] claim TTL, ms

  Output: the claimed message (JSON), or false when the dead letter is gone
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2])
return redis.call('GET', KEYS[2])
