import type { PoolClient } from 'pg';

/** Offsets before a key's expiresAt, in seconds: per tenant, and for every other tenant. */
export interface ExpiryOffsets {
  defaults: readonly number[];
  byTenant: Readonly<Record<string, readonly number[]>>;
}

/** An active key, and one offset before its expiresAt that has come. */
export interface ExpiringKey {
  keyId: string;
  publicId: string;
  tenantId: string;
  name: string;
  expiresAt: Date;
  offsetSeconds: number;
}

/*
 * An active key whose expiresAt is within the offset (its tenant's offsets, or the default ones),
 * skipping offsets that had already passed when the key was created. `now()` is the caller's
 * transaction's start.
 */
const DUE = `
SELECT k.key_id, k.public_id, k.tenant_id, k.name, k.expires_at, o.secs FROM api_keys k
CROSS JOIN LATERAL (
  SELECT value::int AS secs FROM jsonb_array_elements_text(coalesce($1::jsonb -> k.tenant_id, $2::jsonb))
) o
WHERE k.status = 'active' AND k.expires_at > now() AND k.expires_at <= now() + make_interval(secs => $3)
  AND k.expires_at - make_interval(secs => o.secs) <= now()
  AND k.created_at < k.expires_at - make_interval(secs => o.secs)`;

/** Every (key, offset) pair now due, read with the caller's client (in its transaction), in one query. */
export async function expiringKeys(client: PoolClient, offsets: ExpiryOffsets): Promise<ExpiringKey[]> {
  const longest = Math.max(0, ...offsets.defaults, ...Object.values(offsets.byTenant).flat());
  const { rows } = await client.query<{
    key_id: string;
    public_id: string;
    tenant_id: string;
    name: string;
    expires_at: Date;
    secs: number;
  }>(DUE, [JSON.stringify(offsets.byTenant), JSON.stringify(offsets.defaults), longest]);
  return rows.map((r) => ({
    keyId: r.key_id,
    publicId: r.public_id,
    tenantId: r.tenant_id,
    name: r.name,
    expiresAt: r.expires_at,
    offsetSeconds: r.secs,
  }));
}
