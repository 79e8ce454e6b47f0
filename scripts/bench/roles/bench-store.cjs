// The bench's storage-bound batch role (scenario 8, scripts/bench/scenarios/batch-role.ts), loaded
// through ROLE_MODULES: each call writes every message of its batch in one Redis pipeline, so a
// batch of 50 makes one round trip where 50 batches of one make 50.
const { z } = require('zod');
const { defineRole } = require('@taskyard/roles');

exports.benchStoreRole = defineRole({
  name: 'bench-store',
  description: 'Stores each message (one pipeline per call); the bench sets its batch size and concurrency.',
  input: z.object({ n: z.number().int() }).strict(),
  batch: { size: 50, maxWaitMs: 20 },
  concurrency: 1,
  handleBatch: async (batch) => {
    const { redis, keyPrefix } = batch[0].ctx;
    const pipeline = redis.pipeline();
    for (const { message } of batch) pipeline.hset(`${keyPrefix}{bench-store}:stored`, message.id, String(message.payload.n));
    await pipeline.exec();
    return batch.map(() => ({ stored: true }));
  },
});
