import type { Pool, PoolClient } from 'pg';

/** How other modules name a key: its public id, tenant and name, from the read model. */
export interface KeyCard {
  publicId: string;
  tenantId: string;
  name: string;
}

/** The cards of those of `keyIds` (UUIDs) that exist, by key id, in one query (on `db`: a pool, or the caller's client in its transaction). */
export async function keyCards(db: Pool | PoolClient, keyIds: readonly string[]): Promise<Map<string, KeyCard>> {
  const cards = new Map<string, KeyCard>();
  if (keyIds.length === 0) return cards;
  const { rows } = await db.query<{ key_id: string; public_id: string; tenant_id: string; name: string }>(
    'SELECT key_id, public_id, tenant_id, name FROM api_keys WHERE key_id = ANY($1::uuid[])',
    [keyIds],
  );
  for (const row of rows) cards.set(row.key_id, { publicId: row.public_id, tenantId: row.tenant_id, name: row.name });
  return cards;
}

/** A key's name, or null when it has none (yet: the read model is written in the key's own transaction). */
export async function keyName(pool: Pool, keyId: string): Promise<string | null> {
  return (await keyCards(pool, [keyId])).get(keyId)?.name ?? null;
}

/** The key id of a publicId, or undefined when no key has it. */
export async function keyIdOfPublicId(pool: Pool, publicId: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ key_id: string }>('SELECT key_id FROM api_keys WHERE public_id = $1', [publicId]);
  return rows[0]?.key_id;
}
