#!lua flags=no-writes
--[[
  Reads everything one task is made of, in one call and one consistent snapshot: BullMQ's job
  hash and its log (the failed-attempt records), the job's state, Taskyard's ledger record of the
  message, and whether a dead letter is kept. Every key is in the task's role's hash slot.

  The state checks are BullMQ's own (getStateV2-8.lua of BullMQ 5.81), in its order.

  Input:
    KEYS[1]  job hash            KEYS[7]  'active' list
    KEYS[2]  job log             KEYS[8]  'wait' list
    KEYS[3]  'completed' zset    KEYS[9]  'paused' list
    KEYS[4]  'failed' zset       KEYS[10] 'waiting-children' zset
    KEYS[5]  'delayed' zset      KEYS[11] ledger record (~msg)
    KEYS[6]  'prioritized' zset  KEYS[12] dead letter (~dead)
    ARGV[1]  job id

  Output: { job hash as a flat list (empty: no job), state, log lines, ledger record or false, 1 if a dead letter is kept else 0 }
    state: completed, failed, delayed, prioritized, active, waiting, waiting-children, unknown
]]
local rcall = redis.call
local id = ARGV[1]

local function stateOf()
  if rcall("ZSCORE", KEYS[3], id) then return "completed" end
  if rcall("ZSCORE", KEYS[4], id) then return "failed" end
  if rcall("ZSCORE", KEYS[5], id) then return "delayed" end
  if rcall("ZSCORE", KEYS[6], id) then return "prioritized" end
  if rcall("LPOS", KEYS[7], id) then return "active" end
  if rcall("LPOS", KEYS[8], id) then return "waiting" end
  if rcall("LPOS", KEYS[9], id) then return "waiting" end
  if rcall("ZSCORE", KEYS[10], id) then return "waiting-children" end
  return "unknown"
end

local job = rcall("HGETALL", KEYS[1])
local state = "unknown"
local logs = {}
if #job > 0 then
  state = stateOf()
  logs = rcall("LRANGE", KEYS[2], 0, -1)
end
return { job, state, logs, rcall("GET", KEYS[11]), rcall("EXISTS", KEYS[12]) }
