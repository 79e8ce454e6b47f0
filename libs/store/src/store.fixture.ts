import { newTaskId, TASK_SCHEMA_VERSION, type TaskMessage } from '@taskyard/contracts';

/** A message of `role` shaped as the dispatcher makes it, unsigned (the store never verifies): for the store's tests. */
export function unsignedMessage(role: string): TaskMessage {
  const id = newTaskId(role);
  return {
    createdAt: new Date().toISOString(),
    id,
    metadata: { causationId: null, correlationId: `corr-${id}`, labels: {}, source: 'api:test' },
    payload: { n: 1 },
    role,
    schemaVersion: TASK_SCHEMA_VERSION,
    signature: { kid: 'k', alg: 'HMAC-SHA256', value: '0'.repeat(64) },
  };
}
