import type { Pool } from 'pg';
import { parseToken, tokenDigester } from '../token/index.js';
import type { ApiKeyPrincipal, VerificationResult } from './api-key-principal.js';

const ACTIVE = 0;
const EXPIRED = 1;
const REVOKED = 2;
const STATUS = { active: ACTIVE, expired: EXPIRED, revoked: REVOKED } as const;

/**
 * Only what verification needs; tenants, scopes and tags are interned so equal values share
 * memory. The principal a guard hands to handlers is built on the key's first successful
 * verification and then shared: a start-up load of a million keys does not build a million.
 */
interface Entry {
  readonly keyId: string;
  readonly publicId: string;
  readonly tenantId: string;
  readonly scopes: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  /** HMAC/SHA-256 digests as 32-char latin1 strings: far smaller than a Buffer per key. */
  readonly hash: string;
  readonly previousHash: string | null;
  readonly graceEndsAt: number;
  readonly expiresAt: number;
  readonly status: number;
  readonly version: number;
  valid: VerificationResult | undefined;
}

function validResult(entry: Entry): VerificationResult {
  const principal: ApiKeyPrincipal = Object.freeze({
    keyId: entry.keyId,
    publicId: entry.publicId,
    tenantId: entry.tenantId,
    scopes: entry.scopes,
    tags: entry.tags,
    expiresAt: entry.expiresAt === Number.POSITIVE_INFINITY ? null : new Date(entry.expiresAt).toISOString(),
  });
  return Object.freeze({ code: 'VALID', principal });
}

/**
 * An api_keys row as the replica reads it: shaped so that node-postgres does as little as
 * possible per row (a start-up load parses a million of them). Scopes and tags stay JSON text,
 * interned by that text and parsed once per distinct value; times are epoch milliseconds.
 */
export interface ReplicaRow {
  key_id: string;
  public_id: string;
  tenant_id: string;
  /** JSON text of the scopes array. */
  scopes: string;
  /** JSON text of the tags object. */
  tags: string;
  status: 'active' | 'expired' | 'revoked';
  secret_hash: Buffer;
  previous_secret_hash: Buffer | null;
  grace_ends_at: number | null;
  expires_at: number | null;
  version: number;
}

const COLUMNS = `key_id, public_id, tenant_id, to_json(scopes)::text AS scopes, tags::text AS tags, status, secret_hash, previous_secret_hash,
  (extract(epoch FROM grace_ends_at) * 1000)::float8 AS grace_ends_at, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_at, version`;
/** Revoked and expired keys stay this long (to answer REVOKED/EXPIRED), then only NOT_FOUND. */
const TOMBSTONE_SQL = `(status = 'active' OR updated_at > now() - make_interval(days => $1))`;
const SNAPSHOT_XMIN_SQL = 'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin';

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

/** The value stored for `text`, made (and parsed) only the first time it is seen. */
function intern<T>(values: Map<string, T>, text: string, make: (text: string) => T): T {
  let value = values.get(text);
  if (value === undefined) {
    value = make(text);
    values.set(text, value);
  }
  return value;
}

/**
 * An in-memory copy of the active-key read model, holding only what verification needs.
 * `verify` touches no database: a flood of random (even well-formed) keys costs a Map miss.
 * Rows are applied only when their version is newer, so the order in which the start-up load,
 * notifications and resyncs arrive never matters: the newest committed state wins.
 */
export class KeyReplica {
  private readonly entries = new Map<string, Entry>();
  /** Equal tenants, scope sets and tag sets share one value: keyed by their text, each parsed once. */
  private readonly tenants = new Map<string, string>();
  private readonly scopeSets = new Map<string, readonly string[]>();
  private readonly tagSets = new Map<string, Readonly<Record<string, string>>>();
  /** Snapshot xmin at the start of the last completed sync: every later change has a txid ≥ this. */
  private syncedFrom: string | undefined;
  private lastSyncAt = 0;
  /** The token's HMAC (or SHA-256 without a pepper) as a latin1 string, like the stored hashes. */
  private readonly digest: (token: string) => string;

  constructor(
    private readonly pool: Pool,
    pepper: Buffer | undefined,
    private readonly tombstoneDays = 30,
  ) {
    this.digest = tokenDigester(pepper);
  }

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
    return (entry.valid ??= validResult(entry));
  }

  /**
   * Loads every row, in batches; returns how many it loaded. One read-only REPEATABLE READ
   * transaction streams the table through a cursor in physical order: paging in key_id order
   * would read one random heap page per row (key ids are random UUIDs), which dominates start-up
   * on large tables. The snapshot xmin is taken in that same transaction, and the next batch is
   * requested before the current one is applied, so PostgreSQL scans while this process applies.
   */
  async load(batchSize = 5000, onProgress?: (loaded: number) => void): Promise<number> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`load: batchSize must be a positive integer, got ${batchSize}`);
    const client = await this.pool.connect();
    let from: string;
    let loaded = 0;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      from = (await client.query<{ xmin: string }>(SNAPSHOT_XMIN_SQL)).rows[0].xmin;
      await client.query(`DECLARE replica_load NO SCROLL CURSOR FOR SELECT ${COLUMNS} FROM api_keys WHERE ${TOMBSTONE_SQL}`, [
        this.tombstoneDays,
      ]);
      const fetchBatch = () => client.query<ReplicaRow>(`FETCH ${batchSize} FROM replica_load`);
      let next = fetchBatch();
      for (;;) {
        const { rows } = await next;
        const last = rows.length < batchSize;
        if (!last) {
          next = fetchBatch();
          next.catch(() => undefined); // observed by the next turn's await; never an unhandled rejection
        }
        for (const row of rows) this.apply(row);
        loaded += rows.length;
        if (last) break;
        onProgress?.(loaded);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true); // the connection's state is unknown: do not reuse it
      throw error;
    }
    client.release();
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
    const { rows } = await this.pool.query<{ xmin: string }>(SNAPSHOT_XMIN_SQL);
    return rows[0].xmin;
  }

  apply(row: ReplicaRow): void {
    const current = this.entries.get(row.public_id);
    if (current !== undefined && current.version >= row.version) return;
    this.entries.set(row.public_id, {
      keyId: row.key_id,
      publicId: row.public_id,
      tenantId: intern(this.tenants, row.tenant_id, (text) => text),
      scopes: intern(this.scopeSets, row.scopes, (text) => Object.freeze(JSON.parse(text) as string[])),
      tags: intern(this.tagSets, row.tags, (text) => Object.freeze(JSON.parse(text) as Record<string, string>)),
      hash: row.secret_hash.toString('latin1'),
      previousHash: row.previous_secret_hash?.toString('latin1') ?? null,
      graceEndsAt: row.grace_ends_at ?? 0,
      expiresAt: row.expires_at ?? Number.POSITIVE_INFINITY,
      status: STATUS[row.status],
      version: row.version,
      valid: undefined,
    });
  }
}
