import type { Pool } from 'pg';
import { createHmac, createHash } from 'node:crypto';
import { parseToken } from '../token/index.js';
import type { ApiKeyPrincipal, VerificationResult } from './api-key-principal.js';

const ACTIVE = 0;
const EXPIRED = 1;
const REVOKED = 2;
const STATUS = { active: ACTIVE, expired: EXPIRED, revoked: REVOKED } as const;

/** Only what verification needs; strings, scopes and tags are interned so equal values share memory. */
interface Entry {
  readonly principal: ApiKeyPrincipal;
  /** HMAC/SHA-256 digests as 32-char latin1 strings: far smaller than a Buffer per key. */
  readonly hash: string;
  readonly previousHash: string | null;
  readonly graceEndsAt: number;
  readonly expiresAt: number;
  readonly status: number;
  readonly version: number;
}

export interface ReplicaRow {
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
  version: number;
}

const COLUMNS = `key_id, public_id, tenant_id, scopes, tags, status, secret_hash, previous_secret_hash, grace_ends_at, expires_at, version`;
/** Revoked and expired keys stay this long (to answer REVOKED/EXPIRED), then only NOT_FOUND. */
const TOMBSTONE_SQL = `(status = 'active' OR updated_at > now() - make_interval(days => $1))`;

const RESULTS = {
  MALFORMED: Object.freeze({ code: 'MALFORMED' }),
  NOT_FOUND: Object.freeze({ code: 'NOT_FOUND' }),
  EXPIRED: Object.freeze({ code: 'EXPIRED' }),
  REVOKED: Object.freeze({ code: 'REVOKED' }),
} as const satisfies Record<string, VerificationResult>;

/** Constant-time equality of two 32-char digests (no early exit on the first differing byte). */
function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * An in-memory copy of the active-key read model, holding only what verification needs.
 * `verify` touches no database: a flood of random (even well-formed) keys costs a Map miss.
 * Rows are applied only when their version is newer, so the order in which the start-up load,
 * notifications and resyncs arrive never matters: the newest committed state wins.
 */
export class KeyReplica {
  private readonly entries = new Map<string, Entry>();
  private readonly interned = new Map<string, unknown>();
  /** Snapshot xmin at the start of the last completed sync: every later change has a txid ≥ this. */
  private syncedFrom: string | undefined;
  private lastSyncAt = 0;

  constructor(
    private readonly pool: Pool,
    private readonly pepper: Buffer | undefined,
    private readonly tombstoneDays = 30,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  status(): { keys: number; lastSyncAt: string | null; syncedFrom: string | null } {
    return {
      keys: this.entries.size,
      lastSyncAt: this.lastSyncAt ? new Date(this.lastSyncAt).toISOString() : null,
      syncedFrom: this.syncedFrom ?? null,
    };
  }

  /** The hot path: parse, one HMAC, one Map lookup, a constant-time compare, then status and clock. */
  verify(token: string, now = Date.now()): VerificationResult {
    const parsed = parseToken(token);
    if (!parsed.ok) return RESULTS.MALFORMED;
    const entry = this.entries.get(parsed.publicId);
    if (entry === undefined) return RESULTS.NOT_FOUND;
    const hash = this.digest(token);
    if (!digestsEqual(hash, entry.hash)) {
      const inGrace = entry.previousHash !== null && entry.graceEndsAt > now && digestsEqual(hash, entry.previousHash);
      if (!inGrace) return RESULTS.NOT_FOUND;
    }
    if (entry.status === REVOKED) return RESULTS.REVOKED;
    if (entry.status === EXPIRED || entry.expiresAt <= now) return RESULTS.EXPIRED;
    return { code: 'VALID', principal: entry.principal };
  }

  private digest(token: string): string {
    return (this.pepper ? createHmac('sha256', this.pepper) : createHash('sha256')).update(token).digest('binary');
  }

  /** Loads every row in key_id order, in batches; returns how many it loaded. */
  async load(batchSize = 5000, onProgress?: (loaded: number) => void): Promise<number> {
    const from = await this.snapshotXmin();
    let after = '00000000-0000-0000-0000-000000000000';
    let loaded = 0;
    for (;;) {
      const { rows } = await this.pool.query<ReplicaRow>(
        `SELECT ${COLUMNS} FROM api_keys WHERE key_id > $2 AND ${TOMBSTONE_SQL} ORDER BY key_id LIMIT $3`,
        [this.tombstoneDays, after, batchSize],
      );
      for (const row of rows) this.apply(row);
      loaded += rows.length;
      if (rows.length < batchSize) break;
      after = rows[rows.length - 1].key_id;
      onProgress?.(loaded);
    }
    this.syncedFrom = from;
    this.lastSyncAt = Date.now();
    return loaded;
  }

  /**
   * Re-reads every row changed by a transaction that was not visible at the previous sync: after
   * a LISTEN reconnect (notifications sent meanwhile are lost) and periodically, as a safety net.
   */
  async resync(): Promise<number> {
    if (this.syncedFrom === undefined) return this.load();
    const from = await this.snapshotXmin();
    const { rows } = await this.pool.query<ReplicaRow>(
      `SELECT ${COLUMNS} FROM api_keys WHERE last_transaction_id >= $1::xid8`,
      [this.syncedFrom],
    );
    for (const row of rows) this.apply(row);
    this.syncedFrom = from;
    this.lastSyncAt = Date.now();
    return rows.length;
  }

  /** Fetches and applies the current rows of the given keys (after their events were notified). */
  async refresh(keyIds: readonly string[]): Promise<void> {
    if (keyIds.length === 0) return;
    const { rows } = await this.pool.query<ReplicaRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_id = ANY($1::uuid[])`, [keyIds]);
    for (const row of rows) this.apply(row);
  }

  private async snapshotXmin(): Promise<string> {
    const { rows } = await this.pool.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
    return rows[0].xmin;
  }

  apply(row: ReplicaRow): void {
    const current = this.entries.get(row.public_id);
    if (current !== undefined && current.version >= row.version) return;
    const expiresAt = row.expires_at;
    this.entries.set(row.public_id, {
      principal: Object.freeze({
        keyId: row.key_id,
        publicId: row.public_id,
        tenantId: this.intern(row.tenant_id, row.tenant_id),
        scopes: this.intern(`s:${row.scopes.join(' ')}`, Object.freeze(row.scopes)),
        tags: this.intern(`t:${JSON.stringify(row.tags)}`, Object.freeze(row.tags)),
        expiresAt: expiresAt?.toISOString() ?? null,
      }),
      hash: row.secret_hash.toString('latin1'),
      previousHash: row.previous_secret_hash?.toString('latin1') ?? null,
      graceEndsAt: row.grace_ends_at?.getTime() ?? 0,
      expiresAt: expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
      status: STATUS[row.status],
      version: row.version,
    });
  }

  private intern<T>(key: string, value: T): T {
    const existing = this.interned.get(key);
    if (existing !== undefined) return existing as T;
    this.interned.set(key, value);
    return value;
  }

}
