/*
 * The api_keys table's contract: the active-key read model that the registry's projection writes
 * and the guard reads. Its columns, the guard's reads of them (by query and by binary COPY), and
 * the same row built from a key's state live here, so that a column change is made in one place.
 */

/** Every column, in the order the registry's projection writes them. */
export const API_KEYS_COLUMNS = [
  'key_id',
  'public_id',
  'tenant_id',
  'name',
  'scopes',
  'tags',
  'status',
  'secret_hash',
  'previous_secret_hash',
  'grace_ends_at',
  'expires_at',
  'status_reason',
  'created_at',
  'updated_at',
  'version',
  'last_position',
  'last_transaction_id',
  'reason_code',
] as const;

/**
 * An api_keys row as the guard's replica reads it through node-postgres (the start-up load reads
 * the same values from binary COPY). Scopes and tags stay JSON text, interned by that text and
 * parsed once per distinct value; times are epoch milliseconds.
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
  /** The stored digests, in hex. */
  secret_hash: string;
  previous_secret_hash: string | null;
  grace_ends_at: number | null;
  expires_at: number | null;
  version: number;
}

/** The select list of a ReplicaRow. */
export const REPLICA_COLUMNS = `key_id, public_id, tenant_id, to_json(scopes)::text AS scopes, tags::text AS tags, status,
  encode(secret_hash, 'hex') AS secret_hash, encode(previous_secret_hash, 'hex') AS previous_secret_hash,
  (extract(epoch FROM grace_ends_at) * 1000)::float8 AS grace_ends_at, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_at, version`;

/** The same values for the start-up load's binary COPY, in this order (KeyReplica's fromBinaryRow reads them); digests as stored. */
export const REPLICA_LOAD_COLUMNS = `key_id::text, public_id, tenant_id, to_json(scopes)::text, tags::text, status, secret_hash, previous_secret_hash,
  (extract(epoch FROM grace_ends_at) * 1000)::float8, (extract(epoch FROM expires_at) * 1000)::float8, version`;
export const REPLICA_LOAD_FIELDS = 11;

/** A key's state as the registry's aggregate holds it: digests in hex. */
export interface KeyState {
  readonly keyId: string;
  readonly publicId: string;
  readonly tenantId: string;
  readonly scopes: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  readonly status: ReplicaRow['status'];
  readonly secretHash: string;
  readonly previousSecretHash: string | null;
  readonly graceEndsAt: Date | null;
  readonly expiresAt: Date | null;
  readonly version: number;
}

/** The ReplicaRow of the api_keys row the projection writes for this state (the previous digest only while its grace lasts). */
export function replicaRowOf(key: KeyState): ReplicaRow {
  return {
    key_id: key.keyId,
    public_id: key.publicId,
    tenant_id: key.tenantId,
    scopes: JSON.stringify(key.scopes),
    tags: JSON.stringify(key.tags),
    status: key.status,
    secret_hash: key.secretHash,
    previous_secret_hash: key.graceEndsAt === null ? null : key.previousSecretHash,
    grace_ends_at: key.graceEndsAt?.getTime() ?? null,
    expires_at: key.expiresAt?.getTime() ?? null,
    version: key.version,
  };
}
