--[[
  Reserves the turns of new tasks of a fair role (start-time fair queuing): each task gets the
  virtual time max(clock, its tenant's last) + 1, in order, and its BullMQ priority is that
  time. The clock is the virtual time of the queue's front (the priority of the first job in
  BullMQ's prioritized set), so a tenant whose last turn the front has passed starts at the
  front: a newcomer's tasks interleave with a flooder's backlog instead of waiting behind it.
  When nothing waits the turns start again from 0, which keeps the priorities small; within one
  busy period a turn past BullMQ's largest priority takes that one (the order of arrival).

  Input:
    KEYS[1] the role's turns (a sorted set: tenant -> virtual time of its last task)
    KEYS[2] BullMQ's prioritized set of the role's queue (read only; score = priority * 2^32 + counter)
    ARGV[1] the largest priority BullMQ takes
    ARGV[2] how long the turns outlive the last reservation, ms
    ARGV[3..] one tenant per task, in order (`"<tenant>"`, or `null` for no tenant)

  Output: the priority of each task, in order.
]]
local limit = tonumber(ARGV[1])
local front = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local clock = 0
if #front == 0 then
  redis.call('DEL', KEYS[1])
else
  clock = math.floor(tonumber(front[2]) / 0x100000000)
  -- A tenant the front has passed counts as new: its entry goes (the set holds only tenants ahead).
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', clock)
end
local last = {}
local priorities = {}
for i = 3, #ARGV do
  local tenant = ARGV[i]
  local previous = last[tenant]
  if previous == nil then previous = tonumber(redis.call('ZSCORE', KEYS[1], tenant) or clock) end
  local turn = math.max(clock, previous) + 1
  last[tenant] = turn
  priorities[#priorities + 1] = math.min(turn, limit)
end
for tenant, turn in pairs(last) do
  redis.call('ZADD', KEYS[1], turn, tenant)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return priorities
