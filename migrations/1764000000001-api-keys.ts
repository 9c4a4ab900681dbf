import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The active-key read model: written only by the inline ActiveKeysProjection. */
export class ApiKeys1764000000001 implements MigrationInterface {
  name = 'ApiKeys1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        key_id               uuid PRIMARY KEY,
        public_id            text        NOT NULL,
        tenant_id            text        NOT NULL,
        name                 text        NOT NULL,
        scopes               text[]      NOT NULL,
        tags                 jsonb       NOT NULL,
        status               text        NOT NULL CHECK (status IN ('active', 'expired', 'revoked')),
        secret_hash          bytea       NOT NULL,
        previous_secret_hash bytea,
        grace_ends_at        timestamptz,
        expires_at           timestamptz,
        status_reason        text,
        created_at           timestamptz NOT NULL,
        updated_at           timestamptz NOT NULL,
        version              integer     NOT NULL,
        last_position        bigint      NOT NULL,
        -- The transaction that wrote the last event: replicas resync with last_transaction_id >= the
        -- snapshot xmin of their previous sync, which catches every change they could have missed.
        last_transaction_id  xid8        NOT NULL,
        CONSTRAINT api_keys_public_id_key UNIQUE (public_id)
      )`);
    // Keyset pagination, newest first, per tenant and across tenants.
    await q.query(`CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at DESC, key_id DESC)`);
    await q.query(`CREATE INDEX api_keys_created_idx ON api_keys (created_at DESC, key_id DESC)`);
    // The expiry sweeper and replica resyncs.
    await q.query(`CREATE INDEX api_keys_active_expiry_idx ON api_keys (expires_at) WHERE status = 'active' AND expires_at IS NOT NULL`);
    await q.query(`CREATE INDEX api_keys_last_transaction_idx ON api_keys (last_transaction_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE api_keys');
  }
}
