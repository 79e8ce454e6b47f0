--[[
  Marks an Idempotency-Key's record done (dropping its jobs, which are in their queues now) if it
  is still the same claim.

  Input:
    KEYS[1] the key's record (a hash)
    ARGV[1] claim token

  Output: 1
]]
if redis.call('HGET', KEYS[1], 'claim') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'done')
  redis.call('HDEL', KEYS[1], 'jobs')
end
return 1
