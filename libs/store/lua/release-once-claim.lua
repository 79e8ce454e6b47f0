--[[
  Deletes a ctx.once claim only if it is still ours (GET and DEL as one step).

  Input:
    KEYS[1] the claim
    ARGV[1] the claim's value as we wrote it

  Output: 1 if deleted, else 0
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
