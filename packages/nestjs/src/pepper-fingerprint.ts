import { createHmac } from 'node:crypto';
import type { Pool } from 'pg';

const LABEL = 'keyledger pepper fingerprint v1';
/** Stored when keys are hashed with no pepper (plain SHA-256). */
const NO_PEPPER = 'none';
const UNDEFINED_TABLE = '42P01';

/** Identifies a pepper without revealing it: HMAC-SHA-256 of a fixed label, keyed by the pepper (hex). */
export function pepperFingerprint(pepper: Buffer | undefined): string {
  return pepper === undefined || pepper.length === 0 ? NO_PEPPER : createHmac('sha256', pepper).update(LABEL).digest('hex');
}

/** The fingerprint the registry recorded; undefined from a registry older than the table, or before its first start. */
async function storedFingerprint(pool: Pool): Promise<string | undefined> {
  try {
    const { rows } = await pool.query<{ fingerprint: string }>('SELECT fingerprint FROM key_pepper_fingerprint');
    return rows[0]?.fingerprint;
  } catch (error) {
    if ((error as { code?: string }).code === UNDEFINED_TABLE) return undefined;
    throw error;
  }
}

/**
 * A guard's check at start-up: a pepper other than the registry's would refuse every key with 401,
 * so it refuses to start instead, naming neither pepper. Nothing recorded: starts as before.
 */
export async function assertRegistryPepper(pool: Pool, pepper: Buffer | undefined): Promise<void> {
  const stored = await storedFingerprint(pool);
  if (stored !== undefined && stored !== pepperFingerprint(pepper)) {
    throw new Error(
      "the pepper given to ApiKeyAuthModule differs from the registry's KEY_PEPPER, the one this database's keys were issued with (their fingerprints in key_pepper_fingerprint differ): every key would be refused; give this service the registry's KEY_PEPPER",
    );
  }
}

/**
 * The registry's check at start-up: records its pepper's fingerprint on the first start and
 * refuses to start with another pepper than the one this database's keys were issued with.
 */
export async function recordRegistryPepper(pool: Pool, pepper: Buffer | undefined): Promise<void> {
  const fingerprint = pepperFingerprint(pepper);
  await pool.query('INSERT INTO key_pepper_fingerprint (fingerprint) VALUES ($1) ON CONFLICT DO NOTHING', [fingerprint]);
  if ((await storedFingerprint(pool)) !== fingerprint) {
    throw new Error(
      "KEY_PEPPER differs from the one this database's keys were issued with: every key would be refused; start the registry with its original KEY_PEPPER (or DATA_DIR/key-pepper)",
    );
  }
}
