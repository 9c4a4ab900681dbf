import { Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { keyIdOfStream } from '@keyledger/nestjs';
import { AsyncProjection, type Projection, type ProjectionReplay, type RecordedEvent } from '../../event-store/index.js';
import { occurredAt as occurredAtOf, toKeyEvent, type StoredKeyEvent } from '../../keys/index.js';
import { counter } from '../../observability/index.js';
import { copyIn, copyLine } from '../../database/copy-in.js';
import { detached } from '../../database/copy-out.js';
import { GENESIS, nextChainHash } from '../audit-chain.js';


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

/** One audit row, as the projection derives it from its event: the one definition of every column. */
export interface DerivedAuditRow {
  seq: number;
  position: number;
  recordedAt: Date;
  /** `payload.occurredAt` as the event has it (ISO 8601); `recordedAt` for an event of no key or one this code cannot read. */
  occurredAt: string | Date;
  eventType: string;
  streamId: string;
  keyId: string | null;
  publicId: string | null;
  tenantId: string | null;
  actorType: string | null;
  actorId: string | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  reason: string | null;
  changes: Record<string, unknown>;
  chainHash: Buffer;
  /** Not a column: why this code cannot read the event (unknown type or schema version), if so. */
  unreadable?: string;
}

const COLUMNS = [
  'seq', 'position', 'recorded_at', 'occurred_at', 'event_type', 'stream_id', 'key_id', 'public_id', 'tenant_id',
  'actor_type', 'actor_id', 'request_id', 'ip', 'user_agent', 'reason', 'changes', 'chain_hash',
] as const;

/**
 * Derives the audit rows of events in chain order, carrying the chain, the row number and the
 * identity (publicId, tenant) of each key from one event to the next. The projection writes what
 * it derives; the verifier (queries/chain-verifier.ts) derives the same rows and compares.
 */
export class AuditRows {
  constructor(
    private seq: number,
    private chain: Buffer,
    private readonly identities: Map<string, KeyIdentity>,
  ) {}

  /** The row of the next event in chain order. */
  next(e: RecordedEvent): DerivedAuditRow {
    this.chain = nextChainHash(this.chain, e);
    this.seq += 1;
    const keyId = keyIdOfStream(e.streamId) ?? null;
    let described: { changes: Record<string, unknown>; reason: string | null } = { changes: {}, reason: null };
    let occurredAt: string | Date = e.recordedAt;
    let unreadable: string | undefined;
    if (keyId !== null) {
      const event = toKeyEvent(e);
      described = describe(event);
      occurredAt = occurredAtOf(event, e);
      if (event.type === 'unreadable') unreadable = event.problem;
      // Kept for the whole replay: a copy of the id, not a slice pinning its COPY chunk (see detached).
      if (event.type === 'key.created') this.identities.set(detached(keyId), { publicId: event.payload.publicId, tenantId: event.payload.tenantId });
    }
    const identity = keyId === null ? undefined : this.identities.get(keyId);
    if (keyId !== null && identity === undefined) throw new Error(`audit-log: ${e.type} at position ${e.position} for key ${keyId}, which has no key.created`);
    const actor = e.metadata.actor as { type?: unknown; id?: unknown } | undefined;
    return {
      seq: this.seq,
      position: e.position,
      recordedAt: e.recordedAt,
      occurredAt,
      eventType: e.type,
      streamId: e.streamId,
      keyId,
      publicId: identity?.publicId ?? null,
      tenantId: identity?.tenantId ?? null,
      actorType: str(actor?.type),
      actorId: str(actor?.id),
      requestId: str(e.metadata.requestId),
      ip: str(e.metadata.ip),
      userAgent: str(e.metadata.userAgent),
      reason: described.reason,
      changes: described.changes,
      chainHash: this.chain,
      ...(unreadable === undefined ? {} : { unreadable }),
    };
  }

  /** The rows of events, as COPY text in COLUMNS order, and the events among them this code cannot read. */
  batch(events: readonly RecordedEvent[]): Batch {
    let rows = '';
    const unreadable: Batch['unreadable'] = [];
    for (const e of events) {
      const r = this.next(e);
      rows += copyLine([
        r.seq, r.position, r.recordedAt, r.occurredAt, r.eventType, r.streamId, r.keyId, r.publicId, r.tenantId,
        r.actorType, r.actorId, r.requestId, r.ip, r.userAgent, r.reason, JSON.stringify(r.changes), r.chainHash,
      ]);
      if (r.unreadable !== undefined) unreadable.push({ event: e, problem: r.unreadable });
    }
    return { rows, unreadable };
  }
}

interface Batch {
  rows: string;
  unreadable: { event: RecordedEvent; problem: string }[];
}

const logger = new Logger('AuditLogProjection');
const unreadableEvents = counter({
  name: 'keyledger_unreadable_events_total',
  help: 'Stored key events this version cannot read (unknown type or schema version), counted by the instance that put them in the audit log',
  labelNames: ['type'],
});

/**
 * Writes a batch's rows into `table` (`freeze`: a table created in this transaction, see copyIn),
 * and reports each unreadable event: a log line naming it, the metric, and a row in
 * `unreadable_events` (what /health shows), in the same transaction as the rows.
 */
async function write(client: PoolClient, table: string, { rows, unreadable }: Batch, freeze = false): Promise<void> {
  await copyIn(client, table, COLUMNS, rows, { freeze });
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
// Batches of 1,000 keep a rebuild fast while each transaction stays short.
@AsyncProjection(1000)
export class AuditLogProjection implements Projection {
  readonly name = 'audit-log';
  /** audit_log refuses TRUNCATE (and UPDATE, DELETE): a rebuild fills a new table and swaps it in. */
  readonly swapsTable = 'audit_log';

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    const head = await client.query<{ seq: number; chain_hash: Buffer }>('SELECT seq, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    // bigint: a string unless the app's int8 parser is installed
    const rows = new AuditRows(Number(head.rows[0]?.seq ?? 0), head.rows[0]?.chain_hash ?? GENESIS, await this.identities(client, events));
    await write(client, 'audit_log', rows.batch(events));
  }

  /**
   * A rebuild fills `table`, created empty and without indexes in the rebuild's transaction (so
   * `COPY … FREEZE`), starting from the genesis. It keeps the chain and every key's identity in
   * memory (about 150 bytes per key), so it never reads its rows back.
   */
  replay(client: PoolClient, table = 'audit_log'): ProjectionReplay {
    const rows = new AuditRows(0, GENESIS, new Map());
    return {
      order: 'global',
      readsMetadata: true, // the actor, request id, IP and user agent of each row, and the chain
      prepare: (events) => {
        const batch = rows.batch(events);
        return () => write(client, table, batch, true);
      },
      end: () => Promise.resolve(),
    };
  }

  /** publicId and tenant of keys whose key.created was applied in an earlier batch. */
  private async identities(client: PoolClient, events: readonly RecordedEvent[]): Promise<Map<string, KeyIdentity>> {
    const wanted = new Set<string>();
    for (const e of events) {
      const keyId = keyIdOfStream(e.streamId);
      if (keyId !== undefined && e.type !== 'key.created') wanted.add(keyId);
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
