import type { Pool } from 'pg';
import { REPLICA_COLUMNS, REPLICA_LOAD_COLUMNS, REPLICA_LOAD_FIELDS, type ReplicaRow } from './api-keys-columns.js';
import { copyOutBinary, type BinaryRows } from './copy-out-binary.js';
import { READ_SNAPSHOT, withTransaction } from './with-transaction.js';
import { digestFromHex, hasValidChecksum, tokenDigester, tokenPublicId } from './token.js';
import type { ApiKeyPrincipal, VerificationResult } from './api-key-principal.js';
import type { TokenDigest, TokenDigesterName } from './token.js';
import type { UsageKey } from './usage-recorder.js';

const ACTIVE = 0;
const EXPIRED = 1;
const REVOKED = 2;
const STATUS = { active: ACTIVE, expired: EXPIRED, revoked: REVOKED } as const;

/**
 * Only what verification needs; tenants, scopes and tags are interned so equal values share
 * memory. The principal a guard hands to handlers is built on the key's first successful
 * verification and then shared: a start-up load of a million keys does not build a million.
 */
interface Entry extends UsageKey {
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

/** A row as the replica stores it: a ReplicaRow with its digests as the latin1 strings verify compares. */
type StoredRow = Omit<ReplicaRow, 'secret_hash' | 'previous_secret_hash'> & { hash: string; previousHash: string | null };

/** A NOT NULL column's field. */
function required<T>(value: T | null): T {
  if (value === null) throw new Error('COPY sent NULL for a column that cannot be NULL');
  return value;
}

/** The current row of a binary COPY of REPLICA_LOAD_COLUMNS. Every string is its own (no slice of the chunk), and bytea digests arrive as they are stored. */
function fromBinaryRow(r: BinaryRows): StoredRow {
  return {
    key_id: required(r.latin1()), // a uuid's text is ASCII
    public_id: required(r.text()),
    tenant_id: required(r.text()),
    scopes: required(r.text()),
    tags: required(r.text()),
    status: required(r.text()) as ReplicaRow['status'],
    hash: required(r.latin1()),
    previousHash: r.latin1(),
    grace_ends_at: r.float8(),
    expires_at: r.float8(),
    version: required(r.int4()), // an int4 column: a small integer, stored unboxed in the entry
  };
}

/** Revoked and expired keys stay this long (to answer REVOKED/EXPIRED), then only NOT_FOUND. */
function tombstoneSql(days: number): string {
  return `(status = 'active' OR updated_at > now() - make_interval(days => ${days}))`;
}
/** Interned values a replica may gather beyond twice what it held at its last prune before resync prunes. */
const PRUNE_SLACK = 1024;
const SNAPSHOT_XMIN_SQL = 'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin';

const RESULTS = {
  MALFORMED: Object.freeze({ code: 'MALFORMED' }),
  NOT_FOUND: Object.freeze({ code: 'NOT_FOUND' }),
  EXPIRED: Object.freeze({ code: 'EXPIRED' }),
  REVOKED: Object.freeze({ code: 'REVOKED' }),
} as const satisfies Record<string, VerificationResult>;

/** A well-shaped token no key matches: MALFORMED when its checksum is wrong, as parseToken would say. */
function notFound(token: string): VerificationResult {
  return hasValidChecksum(token) ? RESULTS.NOT_FOUND : RESULTS.MALFORMED;
}

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
  /** Interned values after the last prune: resync prunes again once they have doubled. */
  private internedAfterPrune = 0;
  /** Snapshot xmin at the start of the last completed sync: every later change has a txid ≥ this. */
  private syncedFrom: string | undefined;
  private lastSyncAt = 0;
  /** The token's HMAC (or SHA-256 without a pepper) as a latin1 string, like the stored hashes. */
  private readonly digest: TokenDigest;
  private lastMatch: Entry | undefined;

  constructor(
    private readonly pool: Pool,
    pepper: Buffer | undefined,
    private readonly tombstoneDays = 30,
    digester?: TokenDigesterName,
  ) {
    // Written into the load's SQL (COPY takes no parameters): a whole number only.
    if (!Number.isSafeInteger(tombstoneDays) || tombstoneDays < 0) {
      throw new RangeError(`tombstoneDays must be a whole number of days, got ${tombstoneDays}`);
    }
    this.digest = tokenDigester(pepper, digester);
  }

  /** The version of the key with this publicId the replica holds; 0 when it holds none. */
  versionOf(publicId: string): number {
    return this.entries.get(publicId)?.version ?? 0;
  }

  /**
   * The key whose secret the latest verify() matched, whatever it answered (valid, expired or
   * revoked): the key whose use the caller records, read right after the call, with no second look-up.
   * Meaningful only when that answer names a key (neither MALFORMED nor NOT_FOUND).
   */
  get matched(): UsageKey | undefined {
    return this.lastMatch;
  }

  get size(): number {
    return this.entries.size;
  }

  status(): { keys: number; interned: number; lastSyncAt: string | null; syncedFrom: string | null } {
    return {
      keys: this.entries.size,
      interned: this.interned,
      lastSyncAt: this.lastSyncAt ? new Date(this.lastSyncAt).toISOString() : null,
      syncedFrom: this.syncedFrom ?? null,
    };
  }

  /**
   * The hot path: the token's shape, one Map lookup, one HMAC, a constant-time compare, then
   * status and clock. A digest that matches proves the token is the issued one byte for byte,
   * checksum included, so the checksum is checked only on the way to a refusal, where it tells
   * MALFORMED (a typo, a made-up string) from NOT_FOUND. With `tenantId`, only that tenant's keys
   * are known.
   */
  verify(token: string, now = Date.now(), tenantId?: string): VerificationResult {
    const publicId = tokenPublicId(token);
    if (publicId === undefined) return RESULTS.MALFORMED;
    const entry = this.entries.get(publicId);
    // Another tenant's key, when a tenant is asked for, is exactly an unknown one.
    if (entry === undefined || (tenantId !== undefined && entry.tenantId !== tenantId)) return notFound(token);
    const hash = this.digest(token);
    if (!digestsEqual(hash, entry.hash)) {
      const inGrace = entry.previousHash !== null && entry.graceEndsAt > now && digestsEqual(hash, entry.previousHash);
      if (!inGrace) return notFound(token);
    }
    this.lastMatch = entry;
    if (entry.status === REVOKED) return RESULTS.REVOKED;
    if (entry.status === EXPIRED || entry.expiresAt <= now) return RESULTS.EXPIRED;
    return (entry.valid ??= validResult(entry));
  }

  /**
   * Loads every row; returns how many it loaded. One read-only REPEATABLE READ transaction streams
   * the table with `COPY … TO STDOUT` in physical order (paging in key_id order would read one
   * random heap page per row: key ids are random UUIDs), in COPY's binary format, read field by
   * field without node-postgres's per-row parse. The snapshot xmin is taken in that same transaction.
   * `onProgress` hears the count about every `progressEvery` rows.
   */
  async load(progressEvery = 5000, onProgress?: (loaded: number) => void): Promise<number> {
    let loaded = 0;
    const from = await withTransaction(
      this.pool,
      async (client) => {
        const xmin = (await client.query<{ xmin: string }>(SNAPSHOT_XMIN_SQL)).rows[0].xmin;
        let reported = 0;
        for await (const rows of copyOutBinary(
          client,
          `SELECT ${REPLICA_LOAD_COLUMNS} FROM api_keys WHERE ${tombstoneSql(this.tombstoneDays)}`,
          REPLICA_LOAD_FIELDS,
        )) {
          while (rows.next()) {
            this.store(fromBinaryRow(rows));
            loaded += 1;
          }
          if (loaded - reported >= progressEvery) {
            reported = loaded;
            onProgress?.(loaded);
          }
        }
        return xmin;
      },
      READ_SNAPSHOT,
    );
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
    const { rows } = await this.pool.query<ReplicaRow>(`SELECT ${REPLICA_COLUMNS} FROM api_keys WHERE last_transaction_id >= $1::xid8`, [
      this.syncedFrom,
    ]);
    for (const row of rows) this.apply(row);
    this.syncedFrom = from;
    this.lastSyncAt = Date.now();
    if (this.interned > 2 * this.internedAfterPrune + PRUNE_SLACK) this.prune();
    return rows.length;
  }

  private get interned(): number {
    return this.tenants.size + this.scopeSets.size + this.tagSets.size;
  }

  /**
   * Drops the interned tenants, scope sets and tag sets that no key uses any more (an update
   * leaves its key's old sets behind); returns how many. One walk over every key: resync runs it
   * only once the interned values have doubled since the last prune, so it costs little on average.
   */
  prune(): number {
    const before = this.interned;
    const tenants = new Set<string>();
    const scopes = new Set<readonly string[]>();
    const tags = new Set<Readonly<Record<string, string>>>();
    for (const entry of this.entries.values()) {
      tenants.add(entry.tenantId);
      scopes.add(entry.scopes);
      tags.add(entry.tags);
    }
    for (const [text, value] of this.tenants) if (!tenants.has(value)) this.tenants.delete(text);
    for (const [text, value] of this.scopeSets) if (!scopes.has(value)) this.scopeSets.delete(text);
    for (const [text, value] of this.tagSets) if (!tags.has(value)) this.tagSets.delete(text);
    this.internedAfterPrune = this.interned;
    return before - this.internedAfterPrune;
  }

  /**
   * Reads one key's committed row by publicId and applies it if it is newer than what the replica
   * holds; returns whether it was (the lookup behind a refusal of a well-formed token).
   */
  async lookup(publicId: string): Promise<boolean> {
    const { rows } = await this.pool.query<ReplicaRow>(`SELECT ${REPLICA_COLUMNS} FROM api_keys WHERE public_id = $1`, [publicId]);
    const before = this.entries.get(publicId)?.version ?? 0;
    for (const row of rows) this.apply(row);
    return (this.entries.get(publicId)?.version ?? 0) > before;
  }

  /** Fetches and applies the current rows of the given keys (after their events were notified). */
  async refresh(keyIds: readonly string[]): Promise<void> {
    if (keyIds.length === 0) return;
    const { rows } = await this.pool.query<ReplicaRow>(`SELECT ${REPLICA_COLUMNS} FROM api_keys WHERE key_id = ANY($1::uuid[])`, [keyIds]);
    for (const row of rows) this.apply(row);
  }

  private async snapshotXmin(): Promise<string> {
    const { rows } = await this.pool.query<{ xmin: string }>(SNAPSHOT_XMIN_SQL);
    return rows[0].xmin;
  }

  apply(row: ReplicaRow): void {
    const { secret_hash, previous_secret_hash, ...rest } = row;
    this.store({
      ...rest,
      hash: digestFromHex(secret_hash),
      previousHash: previous_secret_hash === null ? null : digestFromHex(previous_secret_hash),
    });
  }

  /** Applies a row unless the replica already holds the same or a newer version of its key. */
  private store(row: StoredRow): void {
    const current = this.entries.get(row.public_id);
    if (current !== undefined && current.version >= row.version) return;
    this.entries.set(row.public_id, {
      keyId: row.key_id,
      publicId: row.public_id,
      tenantId: intern(this.tenants, row.tenant_id, (text) => text),
      scopes: intern(this.scopeSets, row.scopes, (text) => Object.freeze(JSON.parse(text) as string[])),
      tags: intern(this.tagSets, row.tags, (text) => Object.freeze(JSON.parse(text) as Record<string, string>)),
      hash: row.hash,
      previousHash: row.previousHash,
      graceEndsAt: row.grace_ends_at ?? 0,
      expiresAt: row.expires_at ?? Number.POSITIVE_INFINITY,
      status: STATUS[row.status],
      version: row.version,
      valid: undefined,
      usageSlot: -1,
    });
  }
}
