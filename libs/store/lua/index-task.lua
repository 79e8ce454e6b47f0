--[[
  Adds one task to the search indexes of its role (GET /v1/tasks), queued on the transaction
  that adds its job, right after BullMQ's add script. Every key is in the role's hash slot.

  Each index is a sorted set of task ids scored by creation time. It expires a window after its
  last add (so an idle role's indexes leave Redis), and one add in sixteen (the id's last hex
  digit is 0: ids are random) trims it to that window and to a number of entries, so a busy
  index is trimmed with retention too. Entries whose job retention removed sooner are dropped
  by the search that meets them.

  Input:
    KEYS[1]     the task's job hash (BullMQ's)
    KEYS[2..n]  the indexes to add it to (the role's, then its tenant's, correlation's, labels')
    ARGV[1]     the task id
    ARGV[2]     its creation time, ms (the score)
    ARGV[3]     the window, ms: how long an entry may be of use (the task's longest life)
    ARGV[4]     the most entries one index keeps
    ARGV[5]     "1" when the job may not exist (a deduplicated task: BullMQ added none), else "0"

  Output: 1 when indexed, 0 when there was no job to index.
]]
local rcall = redis.call
local id = ARGV[1]
local score = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local maxEntries = tonumber(ARGV[4])

if ARGV[5] == "1" and rcall("EXISTS", KEYS[1]) == 0 then return 0 end

local trim = string.sub(id, -1) == "0"
for i = 2, #KEYS do
  rcall("ZADD", KEYS[i], score, id)
  rcall("PEXPIRE", KEYS[i], window)
  if trim then
    rcall("ZREMRANGEBYSCORE", KEYS[i], "-inf", "(" .. (score - window))
    rcall("ZREMRANGEBYRANK", KEYS[i], 0, -(maxEntries + 1))
  end
end
return 1
