import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * A variable that names a file of PEM certificates (a CA bundle): read once, when the
 * configuration is loaded, so a missing, unreadable or wrong file is a configuration problem
 * naming the variable, not a TLS error on every reconnect. The value is the file's text.
 */
export function pemCertificatesFile() {
  return z
    .string()
    .trim()
    .transform((path, ctx) => {
      let text: string;
      try {
        text = readFileSync(resolve(path), 'utf8');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `cannot read "${path}" (${err instanceof Error ? err.message : String(err)})` });
        return z.NEVER;
      }
      if (!PEM_CERTIFICATE.test(text)) {
        ctx.addIssue({ code: 'custom', message: `"${path}" holds no PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)` });
        return z.NEVER;
      }
      return text;
    });
}
