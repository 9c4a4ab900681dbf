import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { UsageError } from '../errors.js';

/** The only tables a guard reads: the key read model and the registry's pepper fingerprint. */
export const GUARD_TABLES = ['api_keys', 'key_pepper_fingerprint'] as const;
/** The only tables a guard writes: key usage, flushed from its memory (ADR 0006). ON CONFLICT … DO UPDATE reads the stored row, hence SELECT too. */
export const GUARD_USAGE_TABLES = ['key_last_use', 'key_usage_daily'] as const;

/** Lower-case, as PostgreSQL folds unquoted names, so `psql -U <name>` finds it. */
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function parseRoleName(name: string): string {
  if (!ROLE_NAME.test(name) || name.startsWith('pg_')) {
    throw new UsageError(
      `role name must be 1 to 63 lower-case letters, digits or "_", starting with a letter or "_" (and not "pg_"), got "${name}"`,
    );
  }
  return name;
}

/** 32 random bytes, URL-safe: usable as is in a connection URL. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The password as PostgreSQL stores it (a SCRAM-SHA-256 verifier, RFC 5802/7677): the server, its
 * statement log and `--print` output never see the password itself, as with psql's \password.
 */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * A role that may log in, read the key read model, LISTEN (which needs no privilege) and record
 * key usage, and nothing else: no attribute beyond LOGIN, no table but GUARD_TABLES and
 * GUARD_USAGE_TABLES, no write but INSERT and UPDATE of usage (no DELETE, nothing on events).
 */
export function guardRoleSql(role: string, passwordVerifier: string, database: string, schema: string): string[] {
  const r = escapeIdentifier(role);
  const s = escapeIdentifier(schema);
  return [
    `CREATE ROLE ${r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS PASSWORD ${escapeLiteral(passwordVerifier)}`,
    `GRANT CONNECT ON DATABASE ${escapeIdentifier(database)} TO ${r}`,
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `GRANT SELECT ON TABLE ${GUARD_TABLES.map((t) => `${s}.${escapeIdentifier(t)}`).join(', ')} TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE ON TABLE ${GUARD_USAGE_TABLES.map((t) => `${s}.${escapeIdentifier(t)}`).join(', ')} TO ${r}`,
  ];
}
