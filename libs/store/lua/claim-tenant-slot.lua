--[[
  Lets one task of a fair role start, or not, by its tenant's limits (tenantConcurrency,
  tenantRate), across every replica. A running task holds a lease in its tenant's set until it
  gives it back or the lease ends: a worker killed mid-task leaves a slot that frees by itself.

  Input:
    KEYS[1] the tenant's leases (a sorted set: `<task id>:<token>` scored by lease end, ms)
    KEYS[2] the tenant's starts in the current rate window (a counter expiring with the window)
    ARGV[1] now, epoch ms
    ARGV[2] this attempt's lease member
    ARGV[3] tenantConcurrency (0: none)
    ARGV[4] lease, ms
    ARGV[5] tenantRate max (0: none)
    ARGV[6] tenantRate window, ms

  Output: { 1 } when it may start; { 0, retry ms (0: when a running task ends), 'concurrency' | 'rate' }.
]]
local now = tonumber(ARGV[1])
local concurrency = tonumber(ARGV[3])
local rateMax = tonumber(ARGV[5])
if concurrency > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if not redis.call('ZSCORE', KEYS[1], ARGV[2]) and redis.call('ZCARD', KEYS[1]) >= concurrency then
    return {0, 0, 'concurrency'}
  end
end
if rateMax > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= rateMax then
    local ttl = redis.call('PTTL', KEYS[2])
    if ttl < 0 then
      redis.call('PEXPIRE', KEYS[2], ARGV[6])
      ttl = tonumber(ARGV[6])
    end
    return {0, ttl, 'rate'}
  end
  if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[6]) end
end
if concurrency > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return {1}
