--[[
  Adds one task to the search indexes of its role (GET /v1/tasks): sent just ahead of its add on
  the same connection (one task), or queued on the transaction that adds several, right after
  BullMQ's add script of each. Every key is in the role's hash slot.

  Each index is a sorted set of task ids scored by creation time. A task with a tenant, labels
  or a correlation id of its own is in more than the role's index; which ones is kept in the
  role's facets hash, so the sweep (sweep-task-index.lua) can take it out of all of them once
  retention removed its job. Each key expires a window after its last add (an idle role's
  indexes leave Redis whatever happens), and one add in sixteen (the id's last hex digit is 0:
  ids are random) trims the indexes to that window and to a number of entries.

  Input:
    KEYS[1]     the task's job hash (BullMQ's)
    KEYS[2]     the role's facets hash (task id -> its other indexes, newline-separated)
    KEYS[3]     the role's index
    KEYS[4..n]  the task's other indexes (its tenant's, correlation id's, labels')
    ARGV[1]     the task id
    ARGV[2]     its creation time, ms (the score)
    ARGV[3]     the window, ms: how long an entry may be of use (the task's longest life)
    ARGV[4]     the most entries one index keeps
    ARGV[5]     "1": index only if the job exists (queued after an add that may have been
                deduplicated: BullMQ added none); "0": index it (its add follows, or it was added)

  Output: 1 when indexed, 0 when there was no job to index.
]]
local rcall = redis.call
local id = ARGV[1]
local score = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local maxEntries = tonumber(ARGV[4])

if ARGV[5] == "1" and rcall("EXISTS", KEYS[1]) == 0 then return 0 end

local trim = string.sub(id, -1) == "0"
if trim then
  -- The tasks the role's index drops leave the other indexes and the facets hash with it.
  local dropped = rcall("ZRANGEBYSCORE", KEYS[3], "-inf", "(" .. (score - window))
  local over = rcall("ZCARD", KEYS[3]) - #dropped - maxEntries
  if over > 0 then
    for _, extra in ipairs(rcall("ZRANGE", KEYS[3], #dropped, #dropped + over - 1)) do dropped[#dropped + 1] = extra end
  end
  for _, gone in ipairs(dropped) do
    local facets = rcall("HGET", KEYS[2], gone)
    if facets then
      for index in string.gmatch(facets, "[^\n]+") do rcall("ZREM", index, gone) end
      rcall("HDEL", KEYS[2], gone)
    end
  end
end
for i = 3, #KEYS do
  rcall("ZADD", KEYS[i], score, id)
  rcall("PEXPIRE", KEYS[i], window)
  if trim then
    rcall("ZREMRANGEBYSCORE", KEYS[i], "-inf", "(" .. (score - window))
    rcall("ZREMRANGEBYRANK", KEYS[i], 0, -(maxEntries + 1))
  end
end
if #KEYS > 3 then
  rcall("HSET", KEYS[2], id, table.concat(KEYS, "\n", 4))
  rcall("PEXPIRE", KEYS[2], window)
end
return 1
