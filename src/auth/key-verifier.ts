import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '../database/database.tokens.js';
import { hashToken, hashesEqual, parseToken } from '../token/index.js';
import type { VerificationResult } from './api-key-principal.js';
import { KEY_PEPPER } from './key-pepper.js';

interface KeyRow {
  key_id: string;
  public_id: string;
  tenant_id: string;
  scopes: string[];
  tags: Record<string, string>;
  status: 'active' | 'expired' | 'revoked';
  secret_hash: Buffer;
  previous_secret_hash: Buffer | null;
  grace_ends_at: Date | null;
  expires_at: Date | null;
}

/**
 * Verification order: structure and checksum (no store touched), lookup by publicId, hash compare
 * (the previous secret only inside its grace period), then status and expiry against the clock, so
 * a key is refused the instant its expiresAt passes, sweeper or not.
 */
@Injectable()
export class KeyVerifier {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(KEY_PEPPER) private readonly pepper: Buffer,
  ) {}

  async verify(token: string, now = Date.now()): Promise<VerificationResult> {
    const parsed = parseToken(token);
    if (!parsed.ok) return { code: 'MALFORMED' };
    const { rows } = await this.pool.query<KeyRow>(
      `SELECT key_id, public_id, tenant_id, scopes, tags, status, secret_hash, previous_secret_hash, grace_ends_at, expires_at
       FROM api_keys WHERE public_id = $1`,
      [parsed.publicId],
    );
    const row = rows[0];
    if (!row) return { code: 'NOT_FOUND' };
    const hash = hashToken(token, this.pepper);
    const current = hashesEqual(hash, row.secret_hash);
    const inGrace =
      !current &&
      row.previous_secret_hash !== null &&
      row.grace_ends_at !== null &&
      row.grace_ends_at.getTime() > now &&
      hashesEqual(hash, row.previous_secret_hash);
    if (!current && !inGrace) return { code: 'NOT_FOUND' };
    if (row.status === 'revoked') return { code: 'REVOKED' };
    if (row.status === 'expired' || (row.expires_at !== null && row.expires_at.getTime() <= now)) return { code: 'EXPIRED' };
    return {
      code: 'VALID',
      principal: {
        keyId: row.key_id,
        publicId: row.public_id,
        tenantId: row.tenant_id,
        scopes: row.scopes,
        tags: row.tags,
        expiresAt: row.expires_at,
      },
    };
  }
}
