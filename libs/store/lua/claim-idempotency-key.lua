--[[
  Claims an Idempotency-Key unless it has a record: one round trip, atomic, so of any number of
  concurrent requests exactly one claims.

  Input:
    KEYS[1] the key's record (a hash)
    ARGV[1] request fingerprint
    ARGV[2] claim token
    ARGV[3] the 202 body (JSON)
    ARGV[4] the signed jobs (JSON)
    ARGV[5] TTL, ms

  Output: false when this call claimed the key; otherwise the record as
    { fingerprint, claim, state, response, jobs }
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HMGET', KEYS[1], 'fingerprint', 'claim', 'state', 'response', 'jobs')
end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'claim', ARGV[2], 'state', 'pending', 'response', ARGV[3], 'jobs', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return false
