import type { MigrationInterface, QueryRunner } from 'typeorm';

const CODES = `'compromised', 'leaked', 'superseded', 'unused', 'policy', 'offboarding', 'other'`;
/** The code of a key.revoked or key.expired payload `e`, `other` where it has none (written before codes) or an unknown one. */
const CODE_OF_EVENT = `CASE WHEN e.payload->>'reasonCode' IN (${CODES}) THEN e.payload->>'reasonCode' ELSE 'other' END`;

/**
 * Reason codes (issue #18): `api_keys.reason_code` for the key's API view and `audit_log.reason_code`
 * for the audit filter and export, both null except on an expired or revoked key (its
 * key.expired / key.revoked row). Existing rows are filled from their events, the way the
 * projections now derive them: a payload without a code reads as `other`. The audit row's other
 * columns and the hash chain (over the events) do not change, so `verify` passes after this as
 * before. audit_log's append-only trigger is set aside for this one statement, by the table's
 * owner, as migration 0014 does for its reset.
 */
export class ReasonCodes1764000000019 implements MigrationInterface {
  name = 'ReasonCodes1764000000019';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE api_keys ADD COLUMN reason_code text');
    await q.query('ALTER TABLE audit_log ADD COLUMN reason_code text');
    await q.query(`
      UPDATE api_keys k SET reason_code = ${CODE_OF_EVENT}
      FROM events e
      WHERE k.status <> 'active' AND e.stream_id = 'key-' || k.key_id AND e.type IN ('key.revoked', 'key.expired')`);
    await q.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await q.query(`
      UPDATE audit_log a SET reason_code = ${CODE_OF_EVENT}
      FROM events e
      WHERE a.event_type IN ('key.revoked', 'key.expired') AND e.global_position = a.position`);
    await q.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    await q.query(`CREATE INDEX audit_log_reason_code_idx ON audit_log (reason_code, seq DESC) WHERE reason_code IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE audit_log DROP COLUMN reason_code');
    await q.query('ALTER TABLE api_keys DROP COLUMN reason_code');
  }
}
