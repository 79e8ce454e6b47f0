// The bench's fair role and its twin without turns (scenario 9, scripts/bench/scenarios/
// fair-role.ts), loaded through ROLE_MODULES: the same no-op handler, so what differs is the
// tenants' turns (BullMQ's prioritised set and the turns script) against a plain FIFO list.
const { z } = require('zod');
const { defineRole } = require('@taskyard/roles');

const common = {
  description: 'Answers its number (the bench measures the queue, not the handler).',
  input: z.object({ n: z.number().int() }).strict(),
  concurrency: 50,
  handler: async (message) => ({ n: message.payload.n }),
};

exports.benchFairRole = defineRole({ ...common, name: 'bench-fair', fair: true });
exports.benchPlainRole = defineRole({ ...common, name: 'bench-plain' });
