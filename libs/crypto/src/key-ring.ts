/** One named secret: an API key (`id:secret`) or a signing key (`kid:secret`). */
export interface NamedSecret {
  readonly id: string;
  readonly secret: string;
}

/** What a key id (an API key's, a signing key's) may be: letters, digits, `_`, `.`, `-`, 1 to 64. */
export const KEY_ID_PATTERN = /^[\w.-]{1,64}$/;
export const MIN_SECRET_LENGTH = 16;

/**
 * Parses `id:secret,id:secret`. Returns the problems instead of throwing so the config
 * loader can report every bad variable at once.
 */
export function parseNamedSecrets(raw: string): { secrets: NamedSecret[]; problems: string[] } {
  const secrets: NamedSecret[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of raw.split(',').map((part) => part.trim()).entries()) {
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const id = colon === -1 ? '' : entry.slice(0, colon);
    const secret = colon === -1 ? '' : entry.slice(colon + 1);
    if (!KEY_ID_PATTERN.test(id)) {
      problems.push(`entry ${index + 1}: expected "id:secret" with an id of letters, digits, "_", "." or "-"`);
    } else if (secret.length < MIN_SECRET_LENGTH) {
      problems.push(`entry ${index + 1} ("${id}"): the secret must be at least ${MIN_SECRET_LENGTH} characters`);
    } else if (seen.has(id)) {
      problems.push(`entry ${index + 1}: the id "${id}" appears twice`);
    } else {
      seen.add(id);
      secrets.push(Object.freeze({ id, secret }));
    }
  }
  return { secrets, problems };
}
