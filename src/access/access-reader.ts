import { decodeCursor, encodeCursor, isPosition, ValidationError } from '../common/index.js';
import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { AuditTenantForbiddenError } from '../audit/index.js';
import type { ApiKeyPrincipal } from '@keyledger/nestjs';
import { PG_POOL } from '../database/index.js';
import { ADMIN_SCOPE } from '../token/index.js';
import type { AccessRecord } from './access-log.js';

export interface AccessFilter {
  tenantId?: string;
  actorId?: string;
  outcome?: AccessRecord['outcome'];
  from?: string;
  to?: string;
}

export type AccessEntry = AccessRecord & { id: number; recordedAt: string };

export interface AccessPage {
  items: AccessEntry[];
  nextCursor: string | null;
}

interface AccessRow {
  id: number;
  recorded_at: string;
  outcome: AccessRecord['outcome'];
  status: number;
  code: string;
  route: string;
  target: string | null;
  actor_key_id: string;
  actor_public_id: string;
  tenant_id: string;
  request_id: string;
  ip: string | null;
  user_agent: string | null;
}

function toEntry(r: AccessRow): AccessEntry {
  return {
    id: Number(r.id),
    recordedAt: r.recorded_at,
    outcome: r.outcome,
    status: r.status,
    code: r.code,
    route: r.route,
    target: r.target,
    actor: { keyId: r.actor_key_id, publicId: r.actor_public_id, tenantId: r.tenant_id },
    requestId: r.request_id,
    ip: r.ip,
    userAgent: r.user_agent,
  };
}

/** Reads `access_audit`: `admin` every tenant's records, `audit:read` those of its own tenant's keys. */
@Injectable()
export class AccessReader {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Newest first; the (opaque) cursor holds the row id, so pages never overlap or skip under writes. */
  async search(caller: ApiKeyPrincipal, filter: AccessFilter, limit: number, cursor?: string): Promise<AccessPage> {
    const crossTenant = caller.scopes.includes(ADMIN_SCOPE);
    if (!crossTenant && filter.tenantId !== undefined && filter.tenantId !== caller.tenantId) {
      throw AuditTenantForbiddenError.create(filter.tenantId);
    }
    const tenantId = crossTenant ? filter.tenantId : caller.tenantId;
    if (filter.from !== undefined && filter.to !== undefined && Date.parse(filter.from) > Date.parse(filter.to)) {
      throw ValidationError.of([
        { field: 'from', message: 'must not be after `to`' },
        { field: 'to', message: 'must not be before `from`' },
      ]);
    }
    const params: unknown[] = [];
    const where: string[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (tenantId !== undefined) add('tenant_id = ?', tenantId);
    if (filter.actorId !== undefined) add('actor_key_id = ?::uuid', filter.actorId.toLowerCase());
    if (filter.outcome !== undefined) add('outcome = ?', filter.outcome);
    if (filter.from !== undefined) add('recorded_at >= ?::timestamptz', new Date(filter.from).toISOString());
    if (filter.to !== undefined) add('recorded_at < ?::timestamptz', new Date(filter.to).toISOString());
    if (cursor !== undefined) {
      add('id < ?', decodeCursor(cursor, 'access', 'desc', (v): v is [number] => v.length === 1 && isPosition(v[0]))[0]);
    }
    params.push(limit + 1);
    const { rows } = await this.pool.query<AccessRow>(
      `SELECT id, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at, outcome, status, code, route, target,
              actor_key_id, actor_public_id, tenant_id, request_id, ip, user_agent
       FROM access_audit WHERE ${where.length > 0 ? where.join(' AND ') : 'true'} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    return {
      items: page.map(toEntry),
      nextCursor: rows.length > limit ? encodeCursor('access', 'desc', [Number(page[page.length - 1].id)]) : null,
    };
  }
}
