--[[
  Removes the worker registry's entries whose deadline passed, atomically with their heartbeats
  (a worker that beats meanwhile moves its deadline first and keeps its entry).

  Input:
    KEYS[1] the entries (a hash: worker id -> JSON)
    KEYS[2] the deadlines (a sorted set: worker id scored by when its entry expires, ms)
    ARGV[1] now, ms

  Output: the ids removed.
]]
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
for _, id in ipairs(gone) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[1], id)
end
return gone
