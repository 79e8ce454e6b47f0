const UNAVAILABLE_MESSAGES = [
  "Stream isn't writeable",
  'Connection is closed',
  'Command timed out',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'MaxRetriesPerRequestError',
  'Reached the max retries per request limit',
  'OOM command not allowed',
  'LOADING',
  'READONLY',
  'MISCONF',
  // A Redis Cluster's client and nodes, when they or the cluster cannot serve.
  'Cluster is disconnect',
  "Cluster isn't ready",
  'None of startup nodes is available',
  'Failed to refresh slots cache',
  'Too many Cluster redirections',
  'Node is disconnected',
  'ClusterAllFailedError',
  'CLUSTERDOWN',
  'TRYAGAIN',
];

/** True when `err` means Redis cannot serve us right now (down, restarting, out of memory). */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const text = `${err.name} ${err.message} ${(err as { code?: string }).code ?? ''}`;
  return UNAVAILABLE_MESSAGES.some((fragment) => text.includes(fragment));
}

/**
 * True when Redis refused a write because it reached `maxmemory` under `noeviction` ("OOM
 * command not allowed ..."). A MULTI (e.g. a batch's addBulk) refused that way fails as
 * EXECABORT, with the OOM among its queued commands' errors.
 */
export function isRedisFullError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.message.startsWith('OOM ')) return true;
  const previous = (err as { previousErrors?: unknown }).previousErrors;
  return err.message.startsWith('EXECABORT') && Array.isArray(previous) && previous.some(isRedisFullError);
}
