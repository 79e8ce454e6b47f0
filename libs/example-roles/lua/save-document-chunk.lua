--[[
  Stores one chunk's statistics in its document's hash, only when the document exists and the
  chunk is one of its own, and renews the hash's TTL. It never creates the hash: a task naming a
  made-up document leaves nothing behind, and no hash is ever without a TTL.

  Input:
    KEYS[1] the document's hash (fields: meta, chunk:<index> per analysed chunk, final once reported)
    ARGV[1] the chunk's index
    ARGV[2] the document's chunk count, as the task says
    ARGV[3] the chunk's statistics (JSON)
    ARGV[4] the TTL, seconds

  Output: { outcome, chunkCount }
    outcome     'saved', 'unknown' (no such document) or 'out-of-range' (not one of its chunks:
                the index is not below its chunk count, or the task's chunk count is not its)
    chunkCount  the document's chunk count, from its meta (0 when unknown)
]]
local meta = redis.call('HGET', KEYS[1], 'meta')
if not meta then return {'unknown', 0} end
local chunkCount = tonumber(cjson.decode(meta)['chunkCount'])
local index = tonumber(ARGV[1])
if tonumber(ARGV[2]) ~= chunkCount or index < 0 or index >= chunkCount then
  return {'out-of-range', chunkCount}
end
redis.call('HSET', KEYS[1], 'chunk:' .. ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {'saved', chunkCount}
