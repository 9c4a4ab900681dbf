import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A fingerprint of the pepper the registry issues keys with (HMAC-SHA-256 of a fixed label, keyed
 * by the pepper; never the pepper): one row, written by the registry at its first start. A guard
 * given another pepper refuses to start instead of refusing every key with 401. Readable by the
 * guard role (`keyledger guard-role create`).
 */
export class PepperFingerprint1764000000012 implements MigrationInterface {
  name = 'PepperFingerprint1764000000012';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE key_pepper_fingerprint (
        only_row    boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
        fingerprint text        NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE key_pepper_fingerprint');
  }
}
