import type { PoolClient } from 'pg';
import { API_KEYS_COLUMNS, keyIdOfStream } from '@keyledger/nestjs/internal';
import { InlineProjection, type Projection, type ProjectionReplay, type RecordedEvent } from '../../event-store/index.js';
import type { StoredKeyEvent } from '../domain/key-events.js';
import { toKeyEvent } from '../key-repository.js';
import { reasonCodeOf, type ReasonCode } from '../domain/reason-code.js';

/** One api_keys row, as the events make it (times as ISO strings, hashes as hex). */
interface Row {
  key_id: string;
  public_id: string;
  tenant_id: string;
  name: string;
  scopes: readonly string[];
  tags: Readonly<Record<string, string>>;
  status: 'active' | 'expired' | 'revoked';
  secret_hash: string;
  previous_secret_hash: string | null;
  grace_ends_at: string | null;
  expires_at: string | null;
  status_reason: string | null;
  reason_code: ReasonCode | null;
  created_at: string;
  updated_at: string;
  version: number;
  last_position: number;
  last_transaction_id: string;
}

/** The table's columns (the contract the guard reads, packages/nestjs api-keys-columns.ts). */
const COLUMNS = API_KEYS_COLUMNS;

/*
 * One statement per batch, whatever its size: the batch is folded per key in memory first, so a
 * rebuild writes each key once per batch instead of once per event.
 */
const UPSERT = `
INSERT INTO api_keys (${COLUMNS.join(', ')})
SELECT u.key_id, u.public_id, u.tenant_id, u.name, ARRAY(SELECT jsonb_array_elements_text(u.scopes)), u.tags, u.status,
       decode(u.secret_hash, 'hex'), decode(u.previous_secret_hash, 'hex'), u.grace_ends_at, u.expires_at, u.status_reason,
       u.created_at, u.updated_at, u.version, u.last_position, u.last_transaction_id, u.reason_code
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::text[], $8::text[], $9::text[],
            $10::timestamptz[], $11::timestamptz[], $12::text[], $13::timestamptz[], $14::timestamptz[], $15::int[], $16::bigint[], $17::xid8[],
            $18::text[])
  AS u(${COLUMNS.join(', ')})
ON CONFLICT (key_id) DO UPDATE SET ${COLUMNS.slice(1)
  .map((c) => `${c} = EXCLUDED.${c}`)
  .join(', ')}`;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

async function upsert(client: PoolClient, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(UPSERT, [...COLUMNS.map((c) => rows.map((r) => (c === 'scopes' || c === 'tags' ? JSON.stringify(r[c]) : r[c])))]);
}

/** The row after one more event; undefined in, only for key.created. */
function fold(row: Row | undefined, keyId: string, event: StoredKeyEvent, recorded: RecordedEvent): Row {
  // An event this code cannot read changes nothing in the row, not even its version: the row is what
  // the readable events make it, whether it was written live or rebuilt (a hand-written event never
  // passed through the live projection). The next readable event moves the version past it.
  if (event.type === 'unreadable' && row !== undefined) return row;
  if (event.type === 'unreadable') {
    throw new Error(`active-keys: unreadable event at position ${recorded.position} for key ${keyId}, which has no row`);
  }
  const stamp = {
    updated_at: event.payload.occurredAt,
    version: recorded.streamVersion,
    last_position: recorded.position,
    last_transaction_id: recorded.transactionId,
  };
  if (event.type === 'key.created') {
    const p = event.payload;
    return {
      key_id: keyId,
      public_id: p.publicId,
      tenant_id: p.tenantId,
      name: p.name,
      scopes: p.scopes,
      tags: p.tags,
      status: 'active',
      secret_hash: p.secretHash,
      previous_secret_hash: null,
      grace_ends_at: null,
      expires_at: p.expiresAt,
      status_reason: null,
      reason_code: null,
      created_at: p.occurredAt,
      ...stamp,
    };
  }
  // A change to a row that is not there means the read model missed an event: stop, never guess.
  if (row === undefined) throw new Error(`active-keys: ${event.type} at position ${recorded.position} for key ${keyId}, which has no row`);
  switch (event.type) {
    case 'key.rotated': {
      const p = event.payload;
      return {
        ...row,
        ...stamp,
        secret_hash: p.secretHash,
        previous_secret_hash: p.graceEndsAt === null ? null : p.previousSecretHash,
        grace_ends_at: p.graceEndsAt,
        expires_at: p.expiresAt,
      };
    }
    case 'key.expired':
      return { ...row, ...stamp, status: 'expired', status_reason: event.payload.reason, reason_code: reasonCodeOf(event.payload) };
    case 'key.revoked':
      return { ...row, ...stamp, status: 'revoked', status_reason: event.payload.reason, reason_code: reasonCodeOf(event.payload) };
    case 'key.updated': {
      const c = event.payload.changes;
      return {
        ...row,
        ...stamp,
        ...(c.name ? { name: c.name.to } : {}),
        ...(c.scopes ? { scopes: c.scopes.to } : {}),
        ...(c.tags ? { tags: c.tags.to } : {}),
        ...(c.expiresAt ? { expires_at: c.expiresAt.to } : {}),
      };
    }
  }
}

/**
 * The active-key read model (`api_keys`), written inline in the append's transaction, so a revoke
 * is visible the moment it commits. Every column comes from event payloads (never from now()),
 * so a rebuild reproduces the live rows exactly.
 */
@InlineProjection()
export class ActiveKeysProjection implements Projection {
  readonly name = 'active-keys';

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    const batch = events.flatMap((recorded) => {
      const keyId = keyIdOfStream(recorded.streamId);
      return keyId === undefined ? [] : [{ keyId, recorded }];
    });
    if (batch.length === 0) return;
    const rows = await this.existingRows(client, batch);
    for (const { keyId, recorded } of batch) rows.set(keyId, fold(rows.get(keyId), keyId, toKeyEvent(recorded), recorded));
    await upsert(client, [...rows.values()]);
  }

  /**
   * A rebuild reads the events stream by stream, so each key is folded whole in memory and its
   * row written once, instead of once per batch that touches it.
   */
  replay(client: PoolClient): ProjectionReplay {
    let current: Row | undefined;
    return {
      order: 'stream',
      readsMetadata: false, // a key's state comes from payloads alone
      prepare: (events) => {
        const finished: Row[] = [];
        for (const recorded of events) {
          const keyId = keyIdOfStream(recorded.streamId);
          if (keyId === undefined) continue;
          if (current !== undefined && current.key_id !== keyId) {
            finished.push(current);
            current = undefined;
          }
          current = fold(current, keyId, toKeyEvent(recorded), recorded);
        }
        return () => upsert(client, finished);
      },
      end: () => (current === undefined ? Promise.resolve() : upsert(client, [current])),
    };
  }

  async reset(client: PoolClient): Promise<void> {
    await client.query('DELETE FROM api_keys');
  }

  /** The current rows of keys whose batch does not start with their key.created. */
  private async existingRows(client: PoolClient, batch: readonly { keyId: string; recorded: RecordedEvent }[]): Promise<Map<string, Row>> {
    const created = new Set(batch.filter((e) => e.recorded.type === 'key.created').map((e) => e.keyId));
    const wanted = [...new Set(batch.filter((e) => !created.has(e.keyId)).map((e) => e.keyId))];
    const rows = new Map<string, Row>();
    if (wanted.length === 0) return rows;
    const result = await client.query<
      Omit<Row, 'secret_hash' | 'previous_secret_hash' | 'grace_ends_at' | 'expires_at' | 'created_at' | 'updated_at'> & {
        secret_hash: Buffer;
        previous_secret_hash: Buffer | null;
        grace_ends_at: Date | null;
        expires_at: Date | null;
        created_at: Date;
        updated_at: Date;
      }
    >(
      `SELECT ${COLUMNS.join(', ').replace('last_transaction_id', 'last_transaction_id::text')} FROM api_keys WHERE key_id = ANY($1::uuid[])`,
      [wanted],
    );
    for (const r of result.rows) {
      rows.set(r.key_id, {
        ...r,
        secret_hash: r.secret_hash.toString('hex'),
        previous_secret_hash: r.previous_secret_hash?.toString('hex') ?? null,
        grace_ends_at: iso(r.grace_ends_at),
        expires_at: iso(r.expires_at),
        created_at: r.created_at.toISOString(),
        updated_at: r.updated_at.toISOString(),
        last_position: Number(r.last_position),
      });
    }
    return rows;
  }
}
