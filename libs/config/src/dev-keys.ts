import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevKeys {
  API_KEYS: string;
  SIGNING_KEYS: string;
  file: string;
}

/**
 * Development only: reads `<dir>/dev-keys.env`, creating it with fresh random keys the first
 * time, so every process started on this machine shares the same keys. The folder is git-ignored.
 */
export function ensureDevKeys(dir: string): DevKeys {
  const file = join(dir, 'dev-keys.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    mkdirSync(dir, { recursive: true });
    const secret = () => randomBytes(24).toString('base64url');
    text = `API_KEYS=dev:${secret()}\nSIGNING_KEYS=dev-1:${secret()}\n`;
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  }
  const values = Object.fromEntries(
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { API_KEYS: values['API_KEYS'] ?? '', SIGNING_KEYS: values['SIGNING_KEYS'] ?? '', file };
}

/**
 * The environment a process should load its config from: in anything but production, missing
 * keys are filled in from the development key file.
 */
export function withDevKeys(
  source: Readonly<Record<string, string | undefined>>,
  dir: string,
): { env: Record<string, string | undefined>; devKeysFile: string | undefined } {
  const production = source['NODE_ENV'] === 'production';
  // API_KEYS_FILE is a deployment's own keys: no development key is added beside them.
  const hasApiKeys = Boolean(source['API_KEYS'] || source['API_KEYS_FILE']);
  if (production || (hasApiKeys && source['SIGNING_KEYS'])) return { env: { ...source }, devKeysFile: undefined };
  const keys = ensureDevKeys(dir);
  return {
    env: { ...source, API_KEYS: hasApiKeys ? source['API_KEYS'] : keys.API_KEYS, SIGNING_KEYS: source['SIGNING_KEYS'] || keys.SIGNING_KEYS },
    devKeysFile: keys.file,
  };
}
