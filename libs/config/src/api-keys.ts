import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ScopeSchema, TenantSchema, type Scope } from '@taskyard/contracts';
import { KEY_ID_PATTERN, MIN_SECRET_LENGTH, parseNamedSecrets, sha256 } from '@taskyard/crypto';

/**
 * An API key as the API checks it: the SHA-256 of its secret (never the secret of a file key),
 * what it may do, the tenant it is bound to (none: an operator key) and when it stops working.
 */
export interface ApiKey {
  readonly id: string;
  /** Lower-case hex SHA-256 of the secret. */
  readonly secretSha256: string;
  readonly scopes: readonly Scope[];
  readonly tenant: string | undefined;
  /** Epoch ms after which the key is refused; undefined: never. */
  readonly expiresAt: number | undefined;
  /** API_KEYS entries only (development): the secret itself, so a launcher can show it. */
  readonly secret?: string;
}

/** The most keys one file may hold (each is a map entry in every API process). */
export const MAX_API_KEYS = 10_000;

const KeyIdSchema = z.string().regex(KEY_ID_PATTERN, 'letters, digits, "_", "." or "-", 1 to 64 of them');

/** One entry of API_KEYS_FILE. */
export const ApiKeyEntrySchema = z
  .object({
    id: KeyIdSchema,
    secret: z.string().min(MIN_SECRET_LENGTH, `at least ${MIN_SECRET_LENGTH} characters`).max(1024).optional(),
    secretSha256: z.string().regex(/^[0-9a-f]{64}$/, 'the lower-case hex SHA-256 of the secret (64 characters)').optional(),
    scopes: z.array(ScopeSchema).min(1, 'at least one scope').max(100),
    tenant: TenantSchema.optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine((entry) => (entry.secret === undefined) !== (entry.secretSha256 === undefined), {
    message: 'give exactly one of "secret" and "secretSha256"',
    path: ['secret'],
  });

export type ApiKeyEntry = z.infer<typeof ApiKeyEntrySchema>;

export function sha256Hex(text: string): string {
  return sha256(text).toString('hex');
}

/**
 * Parses the text of an API keys file (a JSON array of entries). Every problem names its entry
 * (by index and id) and field, so a bad file can be fixed from the message alone.
 */
export function parseApiKeysFile(text: string): { keys: ApiKey[]; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { keys: [], problems: [`not valid JSON (${(err as Error).message})`] };
  }
  if (!Array.isArray(json)) return { keys: [], problems: ['expected a JSON array of keys ({ "id", "secret" | "secretSha256", "scopes", "tenant"?, "expiresAt"? })'] };
  if (json.length > MAX_API_KEYS) return { keys: [], problems: [`at most ${MAX_API_KEYS} keys, got ${json.length}`] };
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const digests = new Set<string>();
  json.forEach((raw: unknown, index) => {
    const name = typeof (raw as { id?: unknown } | null)?.id === 'string' ? `entry ${index} ("${(raw as { id: string }).id}")` : `entry ${index}`;
    const parsed = ApiKeyEntrySchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${name}: ${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
      return;
    }
    const entry = parsed.data;
    if (seen.has(entry.id)) {
      problems.push(`${name}: id: appears twice`);
      return;
    }
    seen.add(entry.id);
    const secretSha256 = entry.secretSha256 ?? sha256Hex(entry.secret!);
    // Keys are found by their secret: two keys with one secret would make one of them unreachable (or swap their scopes).
    if (digests.has(secretSha256)) {
      problems.push(`${name}: secret: the same secret as an earlier key`);
      return;
    }
    digests.add(secretSha256);
    keys.push(
      Object.freeze({
        id: entry.id,
        secretSha256,
        scopes: Object.freeze([...new Set(entry.scopes)]),
        tenant: entry.tenant,
        expiresAt: entry.expiresAt === undefined ? undefined : Date.parse(entry.expiresAt),
      }),
    );
  });
  return { keys: problems.length === 0 ? keys : [], problems };
}

/** Reads and parses API_KEYS_FILE; an unreadable file is one problem. */
export function readApiKeysFile(path: string): { keys: ApiKey[]; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { keys: [], problems: [`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`] };
  }
  return parseApiKeysFile(text);
}

/** API_KEYS (`id:secret,...`, for development): every scope, no tenant, no expiry. */
export function parseApiKeysVariable(raw: string): { keys: ApiKey[]; problems: string[] } {
  const { secrets, problems } = parseNamedSecrets(raw);
  return {
    keys: secrets.map((named) =>
      Object.freeze({ id: named.id, secret: named.secret, secretSha256: sha256Hex(named.secret), scopes: Object.freeze(['admin'] as Scope[]), tenant: undefined, expiresAt: undefined }),
    ),
    problems,
  };
}

/** API_KEYS and API_KEYS_FILE together: one list, ids unique across both. */
export function mergeApiKeys(fromVariable: readonly ApiKey[], fromFile: readonly ApiKey[]): { keys: ApiKey[]; problems: string[] } {
  const ids = new Set(fromVariable.map((key) => key.id));
  const digests = new Set(fromVariable.map((key) => key.secretSha256));
  const clashes = fromFile.filter((key) => ids.has(key.id)).map((key) => key.id);
  const sameSecret = fromFile.filter((key) => digests.has(key.secretSha256)).map((key) => key.id);
  return {
    keys: [...fromVariable, ...fromFile.filter((key) => !ids.has(key.id) && !digests.has(key.secretSha256))],
    problems: [
      ...(clashes.length === 0 ? [] : [`key id(s) ${clashes.join(', ')} appear in both API_KEYS and API_KEYS_FILE`]),
      ...(sameSecret.length === 0 ? [] : [`key(s) ${sameSecret.join(', ')} have the secret of an API_KEYS key`]),
    ],
  };
}
