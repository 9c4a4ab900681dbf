import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Key usage (issue #18, ADR 0006): written by the instances that verify keys, flushed from memory
 * once per interval. Not events and not projections: not rebuilt, not in the audit chain.
 *
 * - `key_last_use`: one row per key ever used, the newest use any instance flushed (a flush writes
 *   only where its time is newer than the stored one).
 * - `key_usage_daily`: verifications per key, UTC day and outcome (`valid` or the refusal's code),
 *   added to by each flush. `tenant_id` is the key's, so a tenant-wide chart needs no join.
 *
 * Ordinary (logged) tables: an unlogged one is emptied by a PostgreSQL crash, and every key would
 * then look never used to the inactivity sweeper.
 */
export class KeyUsage1764000000015 implements MigrationInterface {
  name = 'KeyUsage1764000000015';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE key_last_use (
        key_id       uuid        PRIMARY KEY,
        last_used_at timestamptz NOT NULL,
        ip           text,
        user_agent   text
      )`);
    await q.query(`
      CREATE TABLE key_usage_daily (
        key_id    uuid   NOT NULL,
        tenant_id text   NOT NULL,
        day       date   NOT NULL,
        outcome   text   NOT NULL,
        count     bigint NOT NULL CHECK (count >= 0),
        PRIMARY KEY (key_id, day, outcome)
      )`);
    await q.query('CREATE INDEX key_usage_daily_tenant_day_idx ON key_usage_daily (tenant_id, day)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE key_usage_daily');
    await q.query('DROP TABLE key_last_use');
  }
}
