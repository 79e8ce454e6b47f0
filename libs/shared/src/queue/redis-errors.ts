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
];

/** True when `err` means Redis cannot serve us right now (down, restarting, out of memory). */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const text = `${err.name} ${err.message} ${(err as { code?: string }).code ?? ''}`;
  return UNAVAILABLE_MESSAGES.some((fragment) => text.includes(fragment));
}
