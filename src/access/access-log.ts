import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { routeOf, targetOf, type AccessRefusal, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { requestInfo } from '../common/index.js';
import { PG_POOL } from '../database/index.js';
import { keyName } from '../keys/index.js';

/** How long a request waits for its access record before answering anyway (the write goes on). */
export const ACCESS_WRITE_TIMEOUT_MS = 1000;

/** Refusals of an authenticated admin caller that are recorded; 400s (bad input) and 401s are logged only. */
export const RECORDED_REFUSALS: ReadonlySet<number> = new Set([403, 404, 409, 412, 422]);

export interface AccessRecord {
  outcome: 'allowed' | 'refused';
  status: number;
  /** `OK`, or the error code the caller got. */
  code: string;
  /** Method and route pattern: `POST /admin/api-keys/:id/rotate`. */
  route: string;
  /** The key named in the route, if any. */
  target: string | null;
  actor: { keyId: string; publicId: string; tenantId: string };
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

/** What the access audit keeps about a request: who, which route and key, the answer, and where from. */
export function accessRecord(
  request: object,
  principal: ApiKeyPrincipal,
  outcome: AccessRecord['outcome'],
  status: number,
  code: string,
): AccessRecord {
  const info = requestInfo(request as Parameters<typeof requestInfo>[0]);
  return {
    outcome,
    status,
    code,
    route: routeOf(request),
    target: targetOf(request),
    actor: { keyId: principal.keyId, publicId: principal.publicId, tenantId: principal.tenantId },
    requestId: info.requestId,
    ip: info.ip ?? null,
    userAgent: info.userAgent ?? null,
  };
}

export function isAdminRoute(request: object): boolean {
  return (request as { routeOptions?: { url?: string } }).routeOptions?.url?.startsWith('/admin/') === true;
}

/**
 * Appends to `access_audit`. A record never changes the answer: a failed or slow write is logged
 * (with the whole record, so it is not lost silently) and the request goes on after at most
 * ACCESS_WRITE_TIMEOUT_MS.
 */
@Injectable()
export class AccessLog {
  private readonly logger = new Logger('Access');

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * The caller as a log line names it, with the fields the history and the audit log give an actor:
   * `actor` (the publicId, as the guard's own lines have it), `actorType`, `actorId` (the keyId)
   * and `actorName`, the key's name now, which is its name at the time of the line. A lookup that
   * fails leaves the name null rather than hold up the answer.
   */
  async actorFields(
    principal: ApiKeyPrincipal,
  ): Promise<{ actor: string; actorType: 'api-key'; actorId: string; actorName: string | null }> {
    const actorName = await keyName(this.pool, principal.keyId).catch(() => null);
    return { actor: principal.publicId, actorType: 'api-key', actorId: principal.keyId, actorName };
  }

  async record(record: AccessRecord): Promise<void> {
    const write = this.pool
      .query(
        `INSERT INTO access_audit (outcome, status, code, route, target, actor_key_id, actor_public_id, tenant_id, request_id, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          record.outcome,
          record.status,
          record.code,
          record.route,
          record.target,
          record.actor.keyId,
          record.actor.publicId,
          record.actor.tenantId,
          record.requestId,
          record.ip,
          record.userAgent,
        ],
      )
      .then(
        () => true,
        (error: unknown) => {
          this.logger.error({
            msg: 'access record not written',
            event: 'access.record_failed',
            error: error instanceof Error ? error.message : String(error),
            record,
          });
          return false;
        },
      );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ACCESS_WRITE_TIMEOUT_MS);
    });
    try {
      if ((await Promise.race([write, late])) === 'late') {
        this.logger.error({
          msg: `access record not written within ${ACCESS_WRITE_TIMEOUT_MS} ms; still trying`,
          event: 'access.record_late',
          record,
        });
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** The guard's report: a valid key refused for its scopes on an admin route is a refused admin command. */
  async guardRefused(refusal: AccessRefusal, request: object): Promise<void> {
    if (refusal.principal === null || !isAdminRoute(request)) return;
    await this.record(accessRecord(request, refusal.principal, 'refused', refusal.status, refusal.reason));
  }
}
