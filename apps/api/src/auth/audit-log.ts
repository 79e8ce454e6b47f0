import type { FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { METRIC, type Logger } from '@taskyard/observability';

/** Why a request was refused: authentication (`AuthRefusal`), a missing scope, a tenant or a role's acceptFrom, or too many failures. */
export type RefusalReason = 'missing' | 'malformed' | 'unknown' | 'expired' | 'scope' | 'tenant' | 'access' | 'throttled';

/**
 * The audit trail: every refused authentication or authorization and every admin action is one
 * structured log line (`audit: true`, the event, the key id where known, the client address) and
 * refusals are counted by reason (taskyard_auth_refusals_total; key ids stay out of labels).
 */
export class AuditLog {
  private readonly refusals: Counter<'reason'>;
  private readonly logger: Logger;

  constructor(logger: Logger, registry: Registry) {
    // The trail is written whatever LOG_LEVEL says (unless logging is off): an operator who keeps
    // only warnings still keeps who did what.
    this.logger = logger.isLevelEnabled('info') || logger.level === 'silent' ? logger : logger.child({}, { level: 'info' });
    this.refusals = new Counter({
      name: METRIC.authRefusals,
      help: 'Requests refused by authentication or authorization, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  refused(request: FastifyRequest, reason: RefusalReason, detail: Record<string, unknown> = {}): void {
    this.refusals.labels(reason).inc();
    this.logger.warn(
      { audit: true, event: 'auth.refused', reason, keyId: request.principal?.keyId, ip: request.ip, method: request.method, url: request.url.split('?')[0], ...detail },
      'request refused',
    );
  }

  /** An admin action: a board action, a bulk replay, a dead-letter delete, a key file reload. */
  action(action: string, detail: Record<string, unknown>): void {
    this.logger.info({ audit: true, event: 'admin.action', action, ...detail }, `admin action: ${action}`);
  }
}
