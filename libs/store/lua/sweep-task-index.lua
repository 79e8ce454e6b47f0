--[[
  Takes the tasks whose job retention removed out of a role's search indexes (all of them: the
  role's, and through the facets hash its tenant's, correlation id's and labels'). Each pass
  walks the role's index from where the last one stopped (a rank kept in KEYS[3]), oldest
  first, and starts over at the oldest after the newest it may touch, so long-lived tasks at
  the old end hold up nothing; a task kept by its cancellation record (a cancelled task's job
  is removed at once) stays while the record does.

  Input:
    KEYS[1]  the role's index
    KEYS[2]  the role's facets hash (see index-task.lua)
    KEYS[3]  where the sweep stopped (a rank in KEYS[1])
    ARGV[1]  job key prefix (`<queue prefix>:<role>:`)
    ARGV[2]  ledger record key prefix (`<role space>:~msg:`)
    ARGV[3]  entries to examine at most
    ARGV[4]  entries created after this (ms) are left alone: a task is indexed a moment before
             its job is added

  Output: the number of tasks taken out.
]]
local rcall = redis.call
local from = tonumber(rcall("GET", KEYS[3]) or "0")
local entries = rcall("ZRANGE", KEYS[1], from, from + tonumber(ARGV[3]) - 1, "WITHSCORES")
local fresh = tonumber(ARGV[4])
local removed = 0
local examined = 0
local wrapped = #entries == 0
for i = 1, #entries, 2 do
  local id = entries[i]
  if tonumber(entries[i + 1]) > fresh then
    wrapped = true
    break
  end
  examined = examined + 1
  if rcall("EXISTS", ARGV[1] .. id) == 0 then
    local record = rcall("GET", ARGV[2] .. id)
    if not record or not string.find(record, '"status":"cancelled"', 1, true) then
      local facets = rcall("HGET", KEYS[2], id)
      if facets then
        for index in string.gmatch(facets, "[^\n]+") do rcall("ZREM", index, id) end
        rcall("HDEL", KEYS[2], id)
      end
      rcall("ZREM", KEYS[1], id)
      removed = removed + 1
    end
  end
end
if wrapped or #entries < 2 * tonumber(ARGV[3]) then
  rcall("SET", KEYS[3], 0, "PX", 86400000)
else
  rcall("SET", KEYS[3], from + examined - removed, "PX", 86400000)
end
return removed
