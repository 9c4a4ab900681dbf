import type { PoolClient } from 'pg';
import type { Projection, RecordedEvent } from '../../event-store/index.js';
import type { KeyEvent } from '../domain/key-events.js';
import { toKeyEvent } from '../key-repository.js';

const KEY_STREAM_PREFIX = 'key-';

/**
 * The active-key read model (`api_keys`), written inline in the append's transaction, so a revoke
 * is visible the moment it commits. Every column comes from event payloads (never from now()),
 * so a rebuild reproduces the live rows exactly.
 */
export class ActiveKeysProjection implements Projection {
  readonly name = 'active-keys';

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      if (!recorded.streamId.startsWith(KEY_STREAM_PREFIX)) continue;
      await this.applyOne(client, recorded.streamId.slice(KEY_STREAM_PREFIX.length), toKeyEvent(recorded), recorded);
    }
  }

  async reset(client: PoolClient): Promise<void> {
    await client.query('DELETE FROM api_keys');
  }

  private async applyOne(client: PoolClient, keyId: string, event: KeyEvent, recorded: RecordedEvent): Promise<void> {
    const common = [keyId, event.payload.occurredAt, recorded.streamVersion, recorded.position, recorded.transactionId];
    let sql: string;
    let params: unknown[];
    switch (event.type) {
      case 'key.created': {
        const p = event.payload;
        sql = `INSERT INTO api_keys (key_id, created_at, updated_at, version, last_position, last_transaction_id, public_id, tenant_id, name, scopes, tags, status, secret_hash, expires_at)
               VALUES ($1, $2, $2, $3, $4, $5::xid8, $6, $7, $8, $9, $10, 'active', decode($11, 'hex'), $12)`;
        params = [...common, p.publicId, p.tenantId, p.name, p.scopes, p.tags, p.secretHash, p.expiresAt];
        break;
      }
      case 'key.rotated': {
        const p = event.payload;
        sql = `UPDATE api_keys SET updated_at = $2, version = $3, last_position = $4, last_transaction_id = $5::xid8, secret_hash = decode($6, 'hex'),
                 previous_secret_hash = CASE WHEN $7::timestamptz IS NULL THEN NULL ELSE decode($8, 'hex') END,
                 grace_ends_at = $7, expires_at = $9
               WHERE key_id = $1`;
        params = [...common, p.secretHash, p.graceEndsAt, p.previousSecretHash, p.expiresAt];
        break;
      }
      case 'key.expired':
        sql = `UPDATE api_keys SET updated_at = $2, version = $3, last_position = $4, last_transaction_id = $5::xid8, status = 'expired', status_reason = $6 WHERE key_id = $1`;
        params = [...common, event.payload.reason];
        break;
      case 'key.revoked':
        sql = `UPDATE api_keys SET updated_at = $2, version = $3, last_position = $4, last_transaction_id = $5::xid8, status = 'revoked', status_reason = $6 WHERE key_id = $1`;
        params = [...common, event.payload.reason];
        break;
      case 'key.updated': {
        const c = event.payload.changes;
        sql = `UPDATE api_keys SET updated_at = $2, version = $3, last_position = $4, last_transaction_id = $5::xid8,
                 name = CASE WHEN $6 THEN $7 ELSE name END,
                 scopes = CASE WHEN $8 THEN $9::text[] ELSE scopes END,
                 tags = CASE WHEN $10 THEN $11::jsonb ELSE tags END,
                 expires_at = CASE WHEN $12 THEN $13::timestamptz ELSE expires_at END
               WHERE key_id = $1`;
        params = [
          ...common,
          c.name !== undefined, c.name?.to ?? null,
          c.scopes !== undefined, c.scopes?.to ?? null,
          c.tags !== undefined, c.tags ? JSON.stringify(c.tags.to) : null,
          c.expiresAt !== undefined, c.expiresAt?.to ?? null,
        ];
        break;
      }
    }
    const result = await client.query(sql, params);
    // A change to a row that is not there means the read model missed an event: stop, never guess.
    if (result.rowCount !== 1) throw new Error(`active-keys: ${event.type} at position ${recorded.position} matched no row for key ${keyId}`);
  }
}
