/** Offsets before a key's expiresAt, in seconds: per tenant, and for every other tenant. */
export interface ExpiryOffsets {
  defaults: readonly number[];
  byTenant: Readonly<Record<string, readonly number[]>>;
}

/** SQL text to use inside a caller's statement, and the values of the parameters it numbers. */
export interface SqlSource {
  sql: string;
  params: unknown[];
}

/**
 * Every (key, offset) pair now due, as a subquery for the caller's own statement, so the caller
 * can join it in PostgreSQL rather than bring every pair back: an active key whose expiresAt is
 * within the offset (its tenant's offsets, or the default ones), skipping offsets that had already
 * passed when the key was created. Columns: key_id, public_id, tenant_id, name, expires_at,
 * offset_seconds. Its parameters are numbered from `$first`; `params` are their values, in order.
 * `now()` is the start of the caller's transaction.
 */
export function expiringKeysSource(offsets: ExpiryOffsets, first: number): SqlSource {
  const [byTenant, defaults, longest] = [first, first + 1, first + 2].map((n) => `$${n}`);
  return {
    sql: `
SELECT k.key_id, k.public_id, k.tenant_id, k.name, k.expires_at, o.secs AS offset_seconds FROM api_keys k
CROSS JOIN LATERAL (
  SELECT value::int AS secs FROM jsonb_array_elements_text(coalesce(${byTenant}::jsonb -> k.tenant_id, ${defaults}::jsonb))
) o
WHERE k.status = 'active' AND k.expires_at > now() AND k.expires_at <= now() + make_interval(secs => ${longest})
  AND k.expires_at - make_interval(secs => o.secs) <= now()
  AND k.created_at < k.expires_at - make_interval(secs => o.secs)`,
    params: [
      JSON.stringify(offsets.byTenant),
      JSON.stringify(offsets.defaults),
      Math.max(0, ...offsets.defaults, ...Object.values(offsets.byTenant).flat()),
    ],
  };
}
