import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Failed verifications per verify-API caller, shared by every instance (rate-limiter-flexible's
 * PostgreSQL store, in its own layout). UNLOGGED: counters for the current minute are not worth
 * WAL, and a crash that empties them only resets some callers' windows.
 */
export class VerifyFailures1764000000008 implements MigrationInterface {
  name = 'VerifyFailures1764000000008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE verify_failures (
        key    varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE verify_failures');
  }
}
