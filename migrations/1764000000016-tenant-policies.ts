import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Key policies (issue #18): the `tenant-policies` inline projection of the `policy-*` streams,
 * one row per tenant that has a policy and `*` for the platform default, written in the same
 * transaction as the policy event. Commands read it (both rows in one query) to check a key
 * against the policy; the inactivity sweeper joins it with `api_keys`.
 */
export class TenantPolicies1764000000016 implements MigrationInterface {
  name = 'TenantPolicies1764000000016';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenant_policies (
        tenant_id  text        PRIMARY KEY,
        settings   jsonb       NOT NULL,
        version    integer     NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tenant_policies');
  }
}
