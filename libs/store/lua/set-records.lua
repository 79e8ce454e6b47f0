--[[
  SETs many ledger records in one command (the completions of one event-loop turn, of one role:
  their keys share its hash slot).

  Input:
    KEYS[i]       a record key
    ARGV[2i - 1]  its value
    ARGV[2i]      its TTL, ms

  Output: the number of records written
]]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i])
end
return #KEYS
