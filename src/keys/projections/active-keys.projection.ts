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
    const common = [keyId, event.payload.occurredAt, recorded.streamVersion, recorded.position];
    let sql: string;
    let params: unknown[];
    switch (event.type) {
      case 'key.created': {
        const p = event.payload;
        sql = `INSERT INTO api_keys (key_id, created_at, updated_at, version, last_position, public_id, tenant_id, name, scopes, tags, status, secret_hash, expires_at)
               VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, 'active', decode($10, 'hex'), $11)`;
        params = [...common, p.publicId, p.tenantId, p.name, p.scopes, p.tags, p.secretHash, p.expiresAt];
        break;
      }
      case 'key.rotated': {
        const p = event.payload;
        sql = `UPDATE api_keys SET updated_at = $2, version = $3, last_position = $4, secret_hash = decode($5, 'hex'),
                 previous_secret_hash = CASE WHEN $6::timestamptz IS NULL THEN NULL ELSE decode($7, 'hex') END,
                 grace_ends_at = $6, expires_at = $8
               WHERE key_id = $1`;
        params = [...common, p.secretHash, p.graceEndsAt, p.previousSecretHash, p.expiresAt];
        break;
      }
      case 'key.expired':
        sql = `UPDATE api_keys SET updated_at = $2, version = $3, last_position = $4, status = 'expired', status_reason = $5 WHERE key_id = $1`;
        params = [...common, event.payload.reason];
        break;
      case 'key.revoked':
        sql = `UPDATE api_keys SET updated_at = $2, version = $3, last_position = $4, status = 'revoked', status_reason = $5 WHERE key_id = $1`;
        params = [...common, event.payload.reason];
        break;
      case 'key.updated': {
        const c = event.payload.changes;
        sql = `UPDATE api_keys SET updated_at = $2, version = $3, last_position = $4,
                 name = CASE WHEN $5 THEN $6 ELSE name END,
                 scopes = CASE WHEN $7 THEN $8::text[] ELSE scopes END,
                 tags = CASE WHEN $9 THEN $10::jsonb ELSE tags END,
                 expires_at = CASE WHEN $11 THEN $12::timestamptz ELSE expires_at END
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
