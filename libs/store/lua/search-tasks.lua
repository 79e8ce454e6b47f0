--[[
  One step of a task search (GET /v1/tasks) over one role: walks an index (task ids scored by
  creation time, see index-task.lua) from a position towards older tasks and answers the tasks
  that pass the filters, with what a task summary is made of. The state of each is read from
  BullMQ's own state sets, in getState's order, so nothing is written per transition.

  A job in BullMQ's active list holds a lock while its worker runs it; one that has none (its
  worker died a moment ago, BullMQ's stall check will hand it back) reads as waiting, so the wait
  list, which may be long, is never searched.

  Positions: an entry (score, id) comes after (ms, after) when score < ms, or score = ms and
  id < after (the order of ZREVRANGE). The walk stops after `want` tasks, at the end of the
  index or of the time range, or once it has examined `budget` entries; then it stops at the end
  of a millisecond, so the position it answers names a time rather than an entry the caller
  may not see. Entries whose job and records are gone (retention) are skipped: the sweep
  (sweep-task-index.lua) takes them out of every index. A step decodes at most MAX_DECODED bytes
  of messages (a filter the index does not narrow reads each task's), so it holds Redis briefly.

  Input:
    KEYS[1]  the index to walk
    KEYS[2]  'completed' zset      KEYS[5]  'prioritized' zset
    KEYS[3]  'failed' zset         KEYS[6]  'waiting-children' zset
    KEYS[4]  'delayed' zset
    ARGV[1]  job key prefix (`<queue prefix>:<role>:`)
    ARGV[2]  ledger record key prefix (`<role space>:~msg:`)
    ARGV[3]  start: ms                ARGV[4]  start: after (see Positions)
    ARGV[5]  oldest creation time to include, ms (-1: any)
    ARGV[6]  budget: entries to examine at most
    ARGV[7]  want: tasks to answer at most
    ARGV[8]  BullMQ states to accept, space-separated ("" any); "gone" accepts a removed job
             that a cancellation record keeps
    ARGV[9]  "1": only what may be cancelled (a cancellation record, or a last attempt that
             failed CANCELLED)
    ARGV[10] tenant ("" any)          ARGV[11] correlation id ("" any)
    ARGV[12] labels that must match, a JSON object ("" none)

  Output: { tasks, end ms, end after, exhausted (1/0), entries examined }; each task is
    { id, score, state, finishedOn or "", metadata JSON (labels, correlationId, tenant,
      workflowId), ledger record or "", last log line or "" }
]]
local rcall = redis.call
local jobPrefix = ARGV[1]
local recordPrefix = ARGV[2]
local startMs = ARGV[3]
local startAfter = ARGV[4]
local oldest = tonumber(ARGV[5])
local budget = tonumber(ARGV[6])
local want = tonumber(ARGV[7])
local cancelledOnly = ARGV[9] == "1"
local tenant = ARGV[10]
local correlationId = ARGV[11]
local labels = nil
if ARGV[12] ~= "" then labels = cjson.decode(ARGV[12]) end

local accepted = nil
if ARGV[8] ~= "" then
  accepted = {}
  for state in string.gmatch(ARGV[8], "%S+") do accepted[state] = true end
end

local function stateOf(id, jobKey)
  if rcall("ZSCORE", KEYS[2], id) then return "completed" end
  if rcall("ZSCORE", KEYS[3], id) then return "failed" end
  if rcall("ZSCORE", KEYS[4], id) then return "delayed" end
  if rcall("ZSCORE", KEYS[5], id) then return "prioritized" end
  if rcall("EXISTS", jobKey .. ":lock") == 1 then return "active" end
  if rcall("ZSCORE", KEYS[6], id) then return "waiting-children" end
  return "waiting"
end

local function matches(meta)
  if type(meta) ~= "table" then return false end
  if tenant ~= "" and meta.tenant ~= tenant then return false end
  if correlationId ~= "" and meta.correlationId ~= correlationId then return false end
  if labels then
    local own = meta.labels
    if type(own) ~= "table" then return false end
    for name, value in pairs(labels) do
      if own[name] ~= value then return false end
    end
  end
  return true
end

local function decoded(raw)
  local ok, value = pcall(cjson.decode, raw)
  if ok then return value end
  return nil
end

-- Whether id a comes before id b in a sorted set's order of equal scores (bytewise, as Redis
-- compares members; Lua's own "<" follows the server's locale).
local function bytesBefore(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local CANCELLED_RECORD = '"status":"cancelled"'
local CANCELLED_CODE = '"code":"CANCELLED"'

-- One entry: a task row when it passes, false when not, "gone" when nothing of it is left.
local MAX_DECODED = 8 * 1024 * 1024
local decodedBytes = 0

local function examine(id)
  local jobKey = jobPrefix .. id
  local data, finishedOn = unpack(rcall("HMGET", jobKey, "data", "finishedOn"))
  if data then decodedBytes = decodedBytes + #data end
  if not data then
    local record = rcall("GET", recordPrefix .. id)
    if not record or not string.find(record, CANCELLED_RECORD, 1, true) then return "gone" end
    if accepted and not accepted["gone"] then return false end
    local parsed = decoded(record)
    local task = type(parsed) == "table" and parsed.task or nil
    if type(task) ~= "table" or not matches(task) then return false end
    return { id, "", "gone", "", cjson.encode({ correlationId = task.correlationId, tenant = task.tenant, labels = task.labels, workflowId = task.workflowId }), record, "" }
  end
  local envelope = decoded(data)
  local meta = type(envelope) == "table" and envelope.metadata or nil
  if not matches(meta) then return false end
  local state = stateOf(id, jobKey)
  if accepted and not accepted[state] then return false end
  local record = ""
  local lastLog = ""
  if state ~= "completed" then
    record = rcall("GET", recordPrefix .. id) or ""
    if state == "failed" or state == "active" then lastLog = rcall("LINDEX", jobKey .. ":logs", -1) or "" end
  end
  if cancelledOnly and not string.find(record, CANCELLED_RECORD, 1, true) and not string.find(lastLog, CANCELLED_CODE, 1, true) then
    return false
  end
  local summary = { correlationId = meta.correlationId, tenant = meta.tenant, labels = meta.labels, workflowId = meta.workflowId }
  return { id, "", state, finishedOn or "", cjson.encode(summary), record, lastLog }
end

local tasks = {}
local examined = 0
local rank = rcall("ZCOUNT", KEYS[1], "(" .. startMs, "+inf")
local endMs, endAfter = startMs, startAfter
local stopAtMs = nil
local exhausted = 1
local CHUNK = 200

while true do
  local entries = rcall("ZREVRANGE", KEYS[1], rank, rank + CHUNK - 1, "WITHSCORES")
  if #entries == 0 then break end
  local stop = false
  for i = 1, #entries, 2 do
    local id, scoreText = entries[i], entries[i + 1]
    local score = tonumber(scoreText)
    if score < oldest then stop = true break end
    if stopAtMs and scoreText ~= stopAtMs then
      -- Out of budget, at the end of a millisecond: everything at stopAtMs was examined.
      endMs, endAfter, exhausted, stop = stopAtMs, "", 0, true
      break
    end
    if not (scoreText == startMs and not bytesBefore(id, startAfter)) then
      examined = examined + 1
      local row = examine(id)
      if row == "gone" then
        -- Left to the sweep, which takes it out of every index it is in.
      elseif row then
        row[2] = scoreText
        tasks[#tasks + 1] = row
        if #tasks >= want then
          endMs, endAfter, exhausted, stop = scoreText, id, 0, true
          break
        end
      end
      if not stopAtMs and (examined >= budget or decodedBytes >= MAX_DECODED) then stopAtMs = scoreText end
    end
  end
  if stop then break end
  rank = rank + CHUNK
end

return { tasks, endMs, endAfter, exhausted, examined }
