import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import { BULL_BOARD_PATH } from './bull-board';

/**
 * The policy every response carries (helmet). Scripts only from this origin (Bull Board and
 * Swagger UI load theirs as files; the board's inline config is JSON, never executed); inline
 * styles are allowed because both UIs set style attributes; nothing from third parties (the
 * board's Google Fonts stylesheet is refused: it falls back to local fonts); no framing at all
 * (frame-ancestors 'none' and X-Frame-Options: DENY); nosniff. No upgrade-insecure-requests: a
 * deployment may serve plain HTTP behind a TLS proxy, and it would break the pages on a loopback address.
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'upgrade-insecure-requests': null,
};

const HELMET_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginEmbedderPolicy: false,
};

/**
 * What a JSON answer of /v1 carries instead of the pages' full set (OWASP's REST headers): it
 * renders nothing, frames nothing, is sniffed as nothing and stored nowhere. Half a kilobyte less
 * per answer on the submit path, whose CPU goes mostly into writing to sockets.
 */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'cache-control': 'no-store',
});

/**
 * The headers helmet sets for HELMET_OPTIONS, computed once: they do not depend on the request.
 * (@fastify/helmet builds helmet's middleware again for every request: the largest part of the
 * +52 µs of API CPU per POST the first cut of these headers cost, see bench/README.md.)
 */
export function pageHeaders(): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: () => undefined,
  } as unknown as ServerResponse;
  helmet(HELMET_OPTIONS)({} as IncomingMessage, response, () => undefined);
  return Object.freeze(headers);
}


/**
 * Security headers on every answer, by the route it matched (the router decodes the path, so no
 * spelling of a path gets another set; a 404 by its path): /v1's JSON set, helmet's full set for
 * everything else (the board, Swagger UI, health, metrics). The board's answers are never stored
 * either (they carry jobs and credentials): set on send, after its static files' own Cache-Control.
 */
export const securityHeadersPlugin = fp(
  async (app: FastifyInstance) => {
    const pages = pageHeaders();
    app.addHook('onRequest', (request, reply, done) => {
      const path = request.routeOptions.url ?? request.url;
      void reply.headers(path.startsWith('/v1/') ? API_HEADERS : pages);
      done();
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      if ((request.routeOptions.url ?? request.url).startsWith(BULL_BOARD_PATH)) void reply.header('cache-control', 'no-store');
      done(null, payload);
    });
  },
  { name: 'taskyard-security-headers' },
);
