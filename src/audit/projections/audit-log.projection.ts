import { Injectable, Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { keyIdOfStream, keyStreamId } from '@keyledger/nestjs/internal';
import { AsyncProjection, EventStore, type Projection, type ProjectionReplay, type RecordedEvent } from '../../event-store/index.js';
import { actorKeyId, compareChainOrder, KeyTimeline, type Changes } from '../../keys/index.js';
import { counter } from '../../common/index.js';
import { copyIn, copyLine } from '../../database/index.js';
import { GENESIS, nextChainHash } from '../audit-chain.js';

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
  /** The acting key's publicId and name as its own events had them when it acted (null for the CLI and the system). */
  actorPublicId: string | null;
  actorName: string | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  reason: string | null;
  reasonCode: string | null;
  changes: Changes;
  chainHash: Buffer;
  /** Not a column: why this code cannot read the event (unknown type or schema version), if so. */
  unreadable?: string;
}

const COLUMNS = [
  'seq',
  'position',
  'recorded_at',
  'occurred_at',
  'event_type',
  'stream_id',
  'key_id',
  'public_id',
  'tenant_id',
  'actor_type',
  'actor_id',
  'request_id',
  'ip',
  'user_agent',
  'reason',
  'changes',
  'chain_hash',
  'actor_public_id',
  'actor_name',
  'reason_code',
] as const;

/**
 * Derives the audit rows of events in chain order, carrying the chain, the row number and every
 * key's state (KeyTimeline: identity, name, expiry, for the changes and the actor's name) from one
 * event to the next. The projection writes what it derives; the verifier
 * (queries/chain-verifier.ts) derives the same rows and compares.
 */
export class AuditRows {
  constructor(
    private seq: number,
    private chain: Buffer,
    private readonly timeline: KeyTimeline,
  ) {}

  /** The row of the next event in chain order. */
  next(e: RecordedEvent): DerivedAuditRow {
    this.chain = nextChainHash(this.chain, e);
    this.seq += 1;
    const entry = this.timeline.apply(e);
    if (entry.keyId !== null && entry.publicId === null) {
      throw new Error(`audit-log: ${e.type} at position ${e.position} for key ${entry.keyId}, which has no key.created`);
    }
    return {
      seq: this.seq,
      position: e.position,
      recordedAt: e.recordedAt,
      occurredAt: entry.occurredAt,
      eventType: e.type,
      streamId: e.streamId,
      keyId: entry.keyId,
      publicId: entry.publicId,
      tenantId: entry.tenantId,
      actorType: entry.actor.type,
      actorId: entry.actor.id,
      actorPublicId: entry.actor.publicId,
      actorName: entry.actor.name,
      requestId: str(e.metadata.requestId),
      ip: str(e.metadata.ip),
      userAgent: str(e.metadata.userAgent),
      reason: entry.reason,
      reasonCode: entry.reasonCode,
      changes: entry.changes,
      chainHash: this.chain,
      ...(entry.unreadable === undefined ? {} : { unreadable: entry.unreadable.problem }),
    };
  }

  /** The rows of events, as COPY text in COLUMNS order, and the events among them this code cannot read. */
  batch(events: readonly RecordedEvent[]): Batch {
    let rows = '';
    const unreadable: Batch['unreadable'] = [];
    for (const e of events) {
      const r = this.next(e);
      rows += copyLine([
        r.seq,
        r.position,
        r.recordedAt,
        r.occurredAt,
        r.eventType,
        r.streamId,
        r.keyId,
        r.publicId,
        r.tenantId,
        r.actorType,
        r.actorId,
        r.requestId,
        r.ip,
        r.userAgent,
        r.reason,
        JSON.stringify(r.changes),
        r.chainHash,
        r.actorPublicId,
        r.actorName,
        r.reasonCode,
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
@Injectable()
@AsyncProjection(1000)
export class AuditLogProjection implements Projection {
  readonly name = 'audit-log';
  /** audit_log refuses TRUNCATE (and UPDATE, DELETE): a rebuild fills a new table and swaps it in. */
  readonly swapsTable = 'audit_log';

  /** `store`: to read the earlier events of the keys a batch names. */
  constructor(private readonly store: EventStore) {}

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    const head = await client.query<{ seq: number; chain_hash: Buffer }>('SELECT seq, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    // bigint: a string unless the app's int8 parser is installed
    const rows = new AuditRows(Number(head.rows[0]?.seq ?? 0), head.rows[0]?.chain_hash ?? GENESIS, await this.timeline(client, events));
    await write(client, 'audit_log', rows.batch(events));
  }

  /**
   * A rebuild fills `table`, created empty and without indexes in the rebuild's transaction (so
   * `COPY … FREEZE`), starting from the genesis. It keeps the chain and every key's state in
   * memory (about 230 bytes per key, measured), so it never reads its rows back.
   */
  replay(client: PoolClient, table = 'audit_log'): ProjectionReplay {
    const rows = new AuditRows(0, GENESIS, new KeyTimeline());
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

  /**
   * The timeline of the keys this batch names (as subject or actor), as their events before the
   * batch left them: every event before the batch in chain order is in audit_log already, and the
   * runner never reads an event whose transaction could still commit before it.
   */
  private async timeline(client: PoolClient, events: readonly RecordedEvent[]): Promise<KeyTimeline> {
    const wanted = new Set<string>();
    for (const e of events) {
      const keyId = keyIdOfStream(e.streamId);
      if (keyId !== undefined && e.type !== 'key.created') wanted.add(keyId);
      const actor = actorKeyId(e);
      if (actor !== null) wanted.add(actor);
    }
    const timeline = new KeyTimeline();
    if (wanted.size === 0) return timeline;
    const first = events[0];
    const earlier = (await this.store.readStreams([...wanted].map(keyStreamId), client)).filter((e) => compareChainOrder(e, first) < 0);
    for (const e of earlier.sort(compareChainOrder)) timeline.apply(e);
    return timeline;
  }
}
