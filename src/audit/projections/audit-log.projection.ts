import { Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { Projection, ProjectionReplay, RecordedEvent } from '../../event-store/index.js';
import { occurredAt as occurredAtOf, toKeyEvent, type StoredKeyEvent } from '../../keys/index.js';
import { counter } from '../../observability/index.js';
import { copyIn, copyLine } from '../../database/copy-in.js';
import { detached } from '../../database/copy-out.js';
import { GENESIS, nextChainHash } from '../audit-chain.js';

const KEY_STREAM_PREFIX = 'key-';

interface KeyIdentity {
  publicId: string;
  tenantId: string;
}

/** What an event changed, for people reading the audit log: before and after where the event says so. */
function describe(event: StoredKeyEvent): { changes: Record<string, unknown>; reason: string | null } {
  switch (event.type) {
    case 'unreadable': // its row carries the stored type; the chain covers it whole (see unreadable_events)
      return { changes: {}, reason: null };
    case 'key.created': {
      const p = event.payload;
      return {
        changes: { name: { from: null, to: p.name }, scopes: { from: null, to: p.scopes }, tags: { from: null, to: p.tags }, expiresAt: { from: null, to: p.expiresAt } },
        reason: null,
      };
    }
    case 'key.rotated':
      return { changes: { secret: 'rotated', graceEndsAt: event.payload.graceEndsAt, expiresAt: { to: event.payload.expiresAt } }, reason: null };
    case 'key.updated':
      return { changes: { ...event.payload.changes }, reason: null };
    case 'key.expired':
    case 'key.revoked':
      return { changes: {}, reason: event.payload.reason };
  }
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

const COLUMNS = [
  'seq', 'position', 'recorded_at', 'occurred_at', 'event_type', 'stream_id', 'key_id', 'public_id', 'tenant_id',
  'actor_type', 'actor_id', 'request_id', 'ip', 'user_agent', 'reason', 'changes', 'chain_hash',
] as const;

/**
 * Turns events into audit rows (COPY text), carrying the chain, the row number and the identity
 * (publicId, tenant) of each key from one event to the next.
 */
class AuditRows {
  private rows: string[] = [];
  /** Events of key streams this code cannot read, met since the last take(). */
  unreadable: { event: RecordedEvent; problem: string }[] = [];

  constructor(
    private seq: number,
    private chain: Buffer,
    private readonly identities: Map<string, KeyIdentity>,
  ) {}

  add(e: RecordedEvent): void {
    this.chain = nextChainHash(this.chain, e);
    this.seq += 1;
    const keyId = e.streamId.startsWith(KEY_STREAM_PREFIX) ? e.streamId.slice(KEY_STREAM_PREFIX.length) : null;
    let described: { changes: Record<string, unknown>; reason: string | null } = { changes: {}, reason: null };
    let occurredAt: string | Date = e.recordedAt;
    if (keyId !== null) {
      const event = toKeyEvent(e);
      described = describe(event);
      occurredAt = occurredAtOf(event, e);
      if (event.type === 'unreadable') this.unreadable.push({ event: e, problem: event.problem });
      // Kept for the whole replay: a copy of the id, not a slice pinning its COPY chunk (see detached).
      if (event.type === 'key.created') this.identities.set(detached(keyId), { publicId: event.payload.publicId, tenantId: event.payload.tenantId });
    }
    const identity = keyId === null ? undefined : this.identities.get(keyId);
    if (keyId !== null && identity === undefined) throw new Error(`audit-log: ${e.type} at position ${e.position} for key ${keyId}, which has no key.created`);
    const actor = e.metadata.actor as { type?: unknown; id?: unknown } | undefined;
    this.rows.push(copyLine([
      this.seq, e.position, e.recordedAt, occurredAt, e.type, e.streamId, keyId, identity?.publicId ?? null, identity?.tenantId ?? null,
      str(actor?.type), str(actor?.id), str(e.metadata.requestId), str(e.metadata.ip), str(e.metadata.userAgent),
      described.reason, JSON.stringify(described.changes), this.chain,
    ]));
  }

  /** The rows added since the last call, for copyIn. */
  take(): { rows: string; unreadable: { event: RecordedEvent; problem: string }[] } {
    const taken = { rows: this.rows.join(''), unreadable: this.unreadable };
    this.rows = [];
    this.unreadable = [];
    return taken;
  }
}

const logger = new Logger('AuditLogProjection');
const unreadableEvents = counter({
  name: 'keyledger_unreadable_events_total',
  help: 'Stored key events this version cannot read (unknown type or schema version), counted by the instance that put them in the audit log',
  labelNames: ['type'],
});

/**
 * Writes a batch's rows, and reports each unreadable event: a log line naming it, the metric, and
 * a row in `unreadable_events` (what /health shows), in the same transaction as the rows.
 */
async function write(client: PoolClient, { rows, unreadable }: ReturnType<AuditRows['take']>): Promise<void> {
  await copyIn(client, 'audit_log', COLUMNS, rows);
  for (const { event, problem } of unreadable) {
    logger.warn(`unreadable event at position ${event.position} in ${event.streamId} (stream version ${event.streamVersion}): ${problem}`);
    unreadableEvents.inc({ type: event.type.slice(0, 64) });
    await client.query(
      `INSERT INTO unreadable_events (global_position, stream_id, stream_version, type, schema_version, problem)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (global_position) DO NOTHING`,
      [event.position, event.streamId, event.streamVersion, event.type, event.schemaVersion, problem],
    );
  }
}

/**
 * One audit row per event, in the gap-safe global order, each holding the running hash chain.
 * Async (checkpointed with its rows in one transaction); never holds a secret or a hash of one.
 */
export class AuditLogProjection implements Projection {
  readonly name = 'audit-log';

  async reset(client: PoolClient): Promise<void> {
    await client.query('TRUNCATE audit_log');
  }

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    const head = await client.query<{ seq: number; chain_hash: Buffer }>('SELECT seq, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    // bigint: a string unless the app's int8 parser is installed
    const rows = new AuditRows(Number(head.rows[0]?.seq ?? 0), head.rows[0]?.chain_hash ?? GENESIS, await this.identities(client, events));
    for (const e of events) rows.add(e);
    await write(client, rows.take());
  }

  /**
   * A rebuild starts from the genesis and keeps the chain and every key's identity in memory
   * (about 150 bytes per key), so it never reads audit_log back, which has no indexes meanwhile.
   */
  replay(client: PoolClient): ProjectionReplay {
    const rows = new AuditRows(0, GENESIS, new Map());
    return {
      order: 'global',
      deferIndexesOf: ['audit_log'],
      readsMetadata: true, // the actor, request id, IP and user agent of each row, and the chain
      prepare: (events) => {
        for (const e of events) rows.add(e);
        const taken = rows.take();
        return () => write(client, taken);
      },
      end: () => Promise.resolve(),
    };
  }

  /** publicId and tenant of keys whose key.created was applied in an earlier batch. */
  private async identities(client: PoolClient, events: readonly RecordedEvent[]): Promise<Map<string, KeyIdentity>> {
    const wanted = new Set<string>();
    for (const e of events) {
      if (e.streamId.startsWith(KEY_STREAM_PREFIX) && e.type !== 'key.created') wanted.add(e.streamId.slice(KEY_STREAM_PREFIX.length));
    }
    const map = new Map<string, KeyIdentity>();
    if (wanted.size === 0) return map;
    const { rows } = await client.query<{ key_id: string; public_id: string; tenant_id: string }>(
      `SELECT key_id, public_id, tenant_id FROM audit_log WHERE key_id = ANY($1::uuid[]) AND event_type = 'key.created'`,
      [[...wanted]],
    );
    for (const r of rows) map.set(r.key_id, { publicId: r.public_id, tenantId: r.tenant_id });
    return map;
  }
}
