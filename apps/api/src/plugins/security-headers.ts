import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { BULL_BOARD_PATH } from './bull-board';

/**
 * The policy every response carries (@fastify/helmet). Scripts only from this origin (Bull Board
 * and Swagger UI load theirs as files; the board's inline config is JSON, never executed); inline
 * styles are allowed because both UIs set style attributes; nothing from third parties (the board's
 * Google Fonts stylesheet is refused: it falls back to local fonts); no framing at all (frame-ancestors
 * 'none' and X-Frame-Options: DENY); nosniff. No upgrade-insecure-requests: a deployment may serve
 * plain HTTP behind a TLS proxy, and it would break the pages on a loopback address.
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

/** Paths whose answers are never stored by a browser or a proxy: the API's and the board's (they carry tasks and credentials). */
const NO_STORE_PREFIXES = ['/v1/', BULL_BOARD_PATH];

export const securityHeadersPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(helmet, {
      global: true,
      contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      crossOriginEmbedderPolicy: false,
    });
    app.addHook('onSend', async (request, reply, payload) => {
      // The matched route (the router decodes the path), or the raw URL for a 404.
      const path = request.routeOptions.url ?? request.url;
      if (NO_STORE_PREFIXES.some((prefix) => path.startsWith(prefix))) void reply.header('cache-control', 'no-store');
      return payload;
    });
  },
  { name: 'taskyard-security-headers' },
);
