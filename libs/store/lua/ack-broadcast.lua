--[[
  Records one worker's acknowledgement of a broadcast while the broadcast is kept, expiring with
  it (so an acknowledgement never outlives, or resurrects, the broadcast it answers).

  Input:
    KEYS[1] the broadcast (a string: its JSON record)
    KEYS[2] its acknowledgements (a hash: worker id -> JSON ack)
    ARGV[1] the worker's id
    ARGV[2] the ack (JSON)

  Output: 1 when recorded, 0 when the broadcast is gone (past its retention).
]]
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
