--[[
  Writes a document's report unless one is in already (a redelivered or concurrent last chunk
  computes the same report), and renews the hash's TTL; like save-document-chunk.lua it never
  creates the hash.

  Input:
    KEYS[1] the document's hash
    ARGV[1] the final record (JSON: completedAt and report)
    ARGV[2] the TTL, seconds

  Output: 1 when the document has its report (this one or an earlier), 0 when there is no such document
]]
if redis.call('HEXISTS', KEYS[1], 'meta') == 0 then return 0 end
redis.call('HSETNX', KEYS[1], 'final', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
