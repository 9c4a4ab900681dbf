import type { ApiKey, KeyStatus } from './domain/api-key.aggregate.js';
import type { ReasonCode } from './domain/reason-code.js';

/** A key as the API shows it: never a hash, never a secret. */
export interface KeyView {
  id: string;
  publicId: string;
  name: string;
  tenantId: string;
  scopes: string[];
  tags: Record<string, string>;
  status: KeyStatus;
  expiresAt: string | null;
  /** Until then the previous secret still works (after a rotation with a grace period); null unless the key is active. */
  graceEndsAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  /**
   * Why the key was expired (`ttl`, `manual`) or revoked (the free text given); null while its
   * KeyExpired or KeyRevoked is not written, as for an active key whose expiresAt has just passed.
   */
  reason: string | null;
  /** The expiry's or revocation's code (`other` for events written before codes); null likewise. */
  reasonCode: ReasonCode | null;
  /**
   * The key's last use any instance has flushed (docs/operations.md, "Key usage"): at most one
   * USAGE_FLUSH_MS late; null if never used. Present where the key is read (GET one, the list),
   * not in a command's answer or an as-of view.
   */
  lastUsedAt?: string | null;
  lastUsedIp?: string | null;
  lastUsedUserAgent?: string | null;
}

export interface KeyRow {
  key_id: string;
  public_id: string;
  tenant_id: string;
  name: string;
  scopes: string[];
  tags: Record<string, string>;
  status: KeyStatus;
  grace_ends_at: Date | null;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
  status_reason: string | null;
  reason_code: ReasonCode | null;
  last_used_at: Date | null;
  last_used_ip: string | null;
  last_used_user_agent: string | null;
}

/** A KeyRow's columns, from the keys joined with their last use (queries/keys-with-last-use.ts). */
export const KEY_VIEW_COLUMNS =
  'key_id, public_id, tenant_id, name, scopes, tags, status, grace_ends_at, expires_at, created_at, updated_at, version, status_reason, reason_code, ' +
  'u.last_used_at, u.ip AS last_used_ip, u.user_agent AS last_used_user_agent';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** An active key whose expiresAt has passed is expired now, whether or not the sweeper has run. */
function effectiveStatus(status: KeyStatus, expiresAt: Date | null, now: Date): KeyStatus {
  return status === 'active' && expiresAt !== null && expiresAt.getTime() <= now.getTime() ? 'expired' : status;
}

/** A revoked or expired key accepts no secret, the previous one included: its grace is over. */
function activeGrace(status: KeyStatus, graceEndsAt: Date | null, now: Date): string | null {
  return status === 'active' && graceEndsAt && graceEndsAt.getTime() > now.getTime() ? graceEndsAt.toISOString() : null;
}

export function keyViewFromAggregate(key: ApiKey, now: Date): KeyView {
  const status = key.statusAt(now);
  return {
    id: key.keyId,
    publicId: key.publicId,
    name: key.name,
    tenantId: key.tenantId,
    scopes: [...key.scopes],
    tags: { ...key.tags },
    status,
    expiresAt: iso(key.expiresAt),
    graceEndsAt: activeGrace(status, key.graceEndsAt, now),
    createdAt: key.createdAt.toISOString(),
    updatedAt: key.updatedAt.toISOString(),
    version: key.version,
    reason: key.statusReason,
    reasonCode: key.reasonCode,
  };
}

export function keyViewFromRow(row: KeyRow, now: Date): KeyView {
  const status = effectiveStatus(row.status, row.expires_at, now);
  return {
    id: row.key_id,
    publicId: row.public_id,
    name: row.name,
    tenantId: row.tenant_id,
    scopes: row.scopes,
    tags: row.tags,
    status,
    expiresAt: iso(row.expires_at),
    graceEndsAt: activeGrace(status, row.grace_ends_at, now),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    version: row.version,
    reason: row.status_reason,
    reasonCode: row.reason_code,
    lastUsedAt: iso(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    lastUsedUserAgent: row.last_used_user_agent,
  };
}
