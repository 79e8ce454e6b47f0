--[[
  Records one run of a schedule, once per slot, while the schedule exists, keeping its last runs.

  Input:
    KEYS[1] the schedule's runs (a sorted set: each run's JSON, scored by its slot)
    KEYS[2] the schedule's definition (a run is kept only while it exists)
    ARGV[1] the run's slot, ms
    ARGV[2] the run (JSON)
    ARGV[3] how many runs to keep

  Output: 1 when recorded, 0 when the slot has a run already (the same run taken twice) or the
  schedule is gone.
]]
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[1]) > 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -1 - tonumber(ARGV[3]))
return 1
