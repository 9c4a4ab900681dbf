import { ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { DomainError, type FieldError, type Order, ORDERS, ValidationError } from '../../common/index.js';
import { PageRequestDto } from '../../dto/index.js';
import { readableTenant, REASON_CODES, type Actor, type ActorRef, type Changes, type ReasonCode } from '../../keys/index.js';

export const AUDIT_EVENT_TYPES = ['key.created', 'key.rotated', 'key.expired', 'key.revoked', 'key.updated', 'policy.changed'] as const;

export class AuditFilterDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(/^[A-Za-z0-9._-]*$/, { message: 'tenantId must be characters of A-Z, a-z, 0-9, ".", "_" or "-", as tenant ids are' })
  tenantId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() keyId?: string;
  @ApiPropertyOptional({ description: 'The acting admin key id, `cli:<user>` or `system`' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  @Matches(/^[^\x00-\x1f\x7f]*$/, { message: 'actorId must not contain control characters' })
  actorId?: string;
  @ApiPropertyOptional({ enum: AUDIT_EVENT_TYPES }) @IsOptional() @IsIn(AUDIT_EVENT_TYPES) type?: string;
  @ApiPropertyOptional({
    enum: REASON_CODES,
    description: 'Only key.expired and key.revoked entries with this code (`other` includes those written before codes)',
  })
  @IsOptional()
  @IsIn(REASON_CODES)
  reasonCode?: ReasonCode;
  @ApiPropertyOptional({ description: 'ISO 8601, inclusive' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  from?: string;
  @ApiPropertyOptional({ description: 'ISO 8601, exclusive' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  to?: string;
}

export class AuditSearchDto extends IntersectionType(AuditFilterDto, PageRequestDto) {
  @ApiPropertyOptional({
    enum: ORDERS,
    default: 'desc',
    description: '`desc`: newest first (the default); `asc`: in chain order, oldest first',
  })
  @IsOptional()
  @IsIn(ORDERS)
  order?: Order;
}

export interface AuditFilter {
  tenantId?: string;
  keyId?: string;
  actorId?: string;
  type?: string;
  reasonCode?: ReasonCode;
  from?: string;
  to?: string;
}

export class AuditTenantForbiddenError extends DomainError {
  /** The tenant id is the caller's input: never echoed. */
  static create(_tenantId: string): AuditTenantForbiddenError {
    return new AuditTenantForbiddenError('forbidden', 'AUDIT.TENANT_FORBIDDEN', 'Your key may only read the audit log of its own tenant');
  }
}

/**
 * A `from`/`to` bound as the UTC instant (ISO 8601, milliseconds, Z) that the SQL compares with, so
 * the range check here and the filter in PostgreSQL read the text one way. IsISO8601 also lets
 * through forms no clock orders (week dates `2026-W05`, ordinal `2026-032`, basic `20260101T…`):
 * PostgreSQL failed on some (a 500) and read others its own way, so they are refused. recorded_at
 * has millisecond precision: a finer bound is rounded up, which keeps `>=` and `<` exact.
 */
function instant(field: 'from' | 'to', text: string | undefined): string | FieldError | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = Date.parse(text);
  if (!/^\d{4}(?:-\d{2}(?:-\d{2}(?:T.*)?)?)?$/.test(text) || Number.isNaN(ms)) {
    return { field, message: 'must be an ISO 8601 date or date-time such as 2026-06-01T12:00:00Z' };
  }
  const subMillisecond = /\.\d{3}(\d*[1-9])/.test(text);
  return new Date(ms + (subMillisecond ? 1 : 0)).toISOString();
}

/** How a value enters the SQL: a bind parameter (`$n`) for a query, a quoted literal for COPY. */
export type SqlBinder = (value: string) => string;

/** A binder that collects bind parameters in `params`. */
export function bindParams(params: unknown[]): SqlBinder {
  return (value) => {
    params.push(value);
    return `$${params.length}`;
  };
}

/**
 * The WHERE clause for a filter, with the caller's tenant boundary applied: an `audit:read` key
 * without `admin` reads its own tenant only.
 */
export function auditWhere(actor: Actor, filter: AuditFilter, bind: SqlBinder): string {
  const from = instant('from', filter.from);
  const to = instant('to', filter.to);
  const unreadable = [from, to].filter((t): t is FieldError => typeof t === 'object');
  if (unreadable.length > 0) throw ValidationError.of(unreadable);
  if (typeof from === 'string' && typeof to === 'string' && Date.parse(from) > Date.parse(to)) {
    throw ValidationError.of([
      { field: 'from', message: 'must not be after `to`' },
      { field: 'to', message: 'must not be before `from`' },
    ]);
  }
  const tenantId = readableTenant(actor, filter.tenantId, (tenant) => AuditTenantForbiddenError.create(tenant));
  const where: string[] = [];
  const add = (sql: string, value: string): void => {
    where.push(sql.replace('?', bind(value)));
  };
  if (tenantId !== undefined) add('tenant_id = ?', tenantId);
  if (filter.keyId) add('key_id = ?::uuid', filter.keyId.toLowerCase());
  if (filter.actorId) add('actor_id = ?', filter.actorId);
  if (filter.type) add('event_type = ?', filter.type);
  if (filter.reasonCode) add('reason_code = ?', filter.reasonCode);
  if (typeof from === 'string') add('recorded_at >= ?::timestamptz', from);
  if (typeof to === 'string') add('recorded_at < ?::timestamptz', to);
  return where.length ? where.join(' AND ') : 'true';
}

export interface AuditRow {
  seq: number;
  position: number;
  recorded_at: string;
  occurred_at: string;
  event_type: string;
  key_id: string | null;
  public_id: string | null;
  tenant_id: string | null;
  actor_type: string | null;
  actor_id: string | null;
  actor_public_id: string | null;
  actor_name: string | null;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
  reason_code: string | null;
  changes: Changes;
  chain_hash: string;
}

export interface AuditEntry {
  seq: number;
  position: number;
  recordedAt: string;
  occurredAt: string;
  type: string;
  keyId: string | null;
  publicId: string | null;
  tenantId: string | null;
  actor: ActorRef;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  reason: string | null;
  reasonCode: string | null;
  changes: Changes;
  chainHash: string;
}

/** Times as ISO 8601 in UTC with milliseconds (what Date#toISOString gives) and the hash as hex, formatted by PostgreSQL. */
const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
export const AUDIT_COLUMNS = `seq, position, to_char(recorded_at AT TIME ZONE 'UTC', ${ISO}) AS recorded_at,
  to_char(occurred_at AT TIME ZONE 'UTC', ${ISO}) AS occurred_at, event_type, key_id, public_id, tenant_id, actor_type, actor_id,
  actor_public_id, actor_name, request_id, ip, user_agent, reason, reason_code, changes, encode(chain_hash, 'hex') AS chain_hash`;

export function toAuditEntry(r: AuditRow): AuditEntry {
  return {
    seq: Number(r.seq),
    position: Number(r.position),
    recordedAt: r.recorded_at,
    occurredAt: r.occurred_at,
    type: r.event_type,
    keyId: r.key_id,
    publicId: r.public_id,
    tenantId: r.tenant_id,
    actor: { type: r.actor_type, id: r.actor_id, publicId: r.actor_public_id, name: r.actor_name },
    requestId: r.request_id,
    ip: r.ip,
    userAgent: r.user_agent,
    reason: r.reason,
    reasonCode: r.reason_code,
    changes: r.changes,
    chainHash: r.chain_hash,
  };
}
