import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ClientBase, Pool, PoolClient } from 'pg';
import { PG_POOL } from '../database/index.js';
import { ConcurrencyError, EventIdConflictError } from './event-store.errors.js';
import type {
  AppendOptions,
  NotifyTiming,
  AppendResult,
  Checkpoint,
  EventMetadata,
  ExpectedVersion,
  NewEvent,
  RecordedEvent,
  ReplayReadOptions,
} from './event-store.types.js';
import { START } from './event-store.types.js';
import type { Projection } from './projection.js';
import { PostCommitNotifier } from './post-commit-notifier.js';
import { counter } from '../common/index.js';
import { copyOutBinary, EVENTS_CHANNEL, encodeNotification, type BinaryRows } from '@keyledger/nestjs/internal';

const eventsAppended = counter({ name: 'keyledger_events_appended_total', help: 'Events appended to the store by this process' });

const UNIQUE_VIOLATION = '23505';

/*
 * One round trip: read the stream's version, check it and insert the batch. Two racing appends
 * with the same expected version both pass the check; the unique (stream_id, stream_version)
 * index then rejects the loser, which therefore writes nothing. Run as a named prepared statement:
 * planning it costs more than executing it.
 */
const APPEND_CTE = `
WITH cur AS (
  SELECT coalesce(max(stream_version), 0) AS v FROM events WHERE stream_id = $1
), ins AS (
  INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, metadata)
  SELECT $1, cur.v + e.ord, (e.doc->>'id')::uuid, e.doc->>'type', (e.doc->>'v')::int, e.doc->'payload', $3::jsonb
  FROM cur, jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(doc, ord)
  WHERE $4::int IS NULL OR cur.v = $4::int
  ORDER BY e.ord
  RETURNING global_position, stream_version, event_id, type, recorded_at, transaction_id
)
SELECT global_position, stream_version, event_id, type, recorded_at, transaction_id::text AS transaction_id`;

const APPEND = { name: 'keyledger_append', text: `${APPEND_CTE} FROM ins ORDER BY stream_version` };

/** The `in-transaction` append: the NOTIFY rides along with the commit (NotifyTiming). */
const APPEND_AND_NOTIFY = {
  name: 'keyledger_append_notify',
  text: `${APPEND_CTE},
       pg_notify('${EVENTS_CHANNEL}', json_build_object('p', global_position, 's', $1::text, 'v', stream_version, 't', type)::text)
FROM ins ORDER BY stream_version`,
};

const SELECT_COLUMNS = `global_position, transaction_id::text AS transaction_id, stream_id, stream_version, event_id,
  type, schema_version, payload, metadata, recorded_at`;

interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  schema_version: number;
  payload: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    position: Number(row.global_position),
    transactionId: row.transaction_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    payload: row.payload,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  };
}

/** The columns replay reads with COPY, in fromCopyRow's order; metadata only when asked for. */
function copyColumns(metadata: boolean): string {
  return `global_position, transaction_id::text, stream_id, stream_version, event_id::text, type, schema_version, payload, ${metadata ? 'metadata' : 'NULL::jsonb'}, recorded_at`;
}
const COPY_FIELDS = 10;

/** The SELECT that EventStore.replay streams with COPY (bench:rebuild times it alone, as part of the floor). */
export function replayQuery({ order, before, metadata = true, limit }: Omit<ReplayReadOptions, 'batchSize'>): string {
  // Qualified: a bare `transaction_id` in ORDER BY names the output column `transaction_id::text`,
  // which sorts xid 1000 before 999 (and replayed a stream out of order across such a boundary).
  const orderBy = order === 'global' ? 'events.transaction_id, events.global_position' : 'events.stream_id, events.stream_version';
  const where = before === undefined ? '' : `WHERE transaction_id < '${BigInt(before)}'::xid8`;
  return `SELECT ${copyColumns(metadata)} FROM events ${where} ORDER BY ${orderBy}${limit === undefined ? '' : ` LIMIT ${BigInt(limit)}`}`;
}

/** The metadata of a replayed event whose reader did not ask for it (ReplayOptions.metadata). */
const NO_METADATA: EventMetadata = Object.freeze({});

/** The current row of a binary COPY of copyColumns as an event (every column but metadata is NOT NULL). */
function fromCopyRow(r: BinaryRows): RecordedEvent {
  const position = r.int8()!;
  const transactionId = r.text()!;
  const streamId = r.text()!;
  const streamVersion = r.int4()!;
  const eventId = r.text()!;
  const type = r.text()!;
  const schemaVersion = r.int4()!;
  const payload = JSON.parse(r.jsonb()!) as unknown;
  const metadata = r.jsonb();
  const recordedAt = new Date(r.timestamp()!);
  return {
    position,
    transactionId,
    streamId,
    streamVersion,
    eventId,
    type,
    schemaVersion,
    payload,
    metadata: metadata === null ? NO_METADATA : (JSON.parse(metadata) as EventMetadata),
    recordedAt,
  };
}

/** The append statement of each NotifyTiming; `after-commit` sends through the PostCommitNotifier. */
const APPEND_STATEMENT: Record<NotifyTiming, { name: string; text: string }> = {
  'in-transaction': APPEND_AND_NOTIFY,
  'after-commit': APPEND,
};

/**
 * The one place an append's NotifyTiming is decided: a caller's transaction commits when the caller
 * says, which the store cannot observe, and pg_notify inside it is delivered exactly at that commit
 * or not at all; otherwise the caller's choice, `after-commit` by default (ADR 0004).
 */
function notifyTiming(options: AppendOptions): NotifyTiming {
  if (options.client !== undefined) return 'in-transaction';
  return options.notify ?? 'after-commit';
}

function notification(row: AppendRow, streamId: string): string {
  return encodeNotification({ position: Number(row.global_position), streamId, streamVersion: row.stream_version, type: row.type });
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === UNIQUE_VIOLATION;
}

function expectedAsNumber(expected: ExpectedVersion): number | null {
  if (expected === 'any') return null;
  if (expected === 'no-stream') return 0;
  return expected;
}

@Injectable()
export class EventStore implements OnModuleDestroy {
  private readonly inline: Projection[] = [];
  private readonly notifier: PostCommitNotifier;

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {
    this.notifier = new PostCommitNotifier(pool, EVENTS_CHANNEL);
  }

  /** Resolves when the notifications of every append so far have been sent (tests, shutdown). */
  notificationsSent(): Promise<void> {
    return this.notifier.flushed();
  }

  /** Before the pool closes: send what is queued. */
  onModuleDestroy(): Promise<void> {
    return this.notifier.flushed();
  }

  /** Inline projections run inside every append's transaction, so they commit with the events. */
  registerInline(projection: Projection): void {
    if (this.inline.some((p) => p.name === projection.name)) return;
    this.inline.push(projection);
  }

  inlineProjections(): readonly Projection[] {
    return this.inline;
  }

  async append(
    streamId: string,
    expected: ExpectedVersion,
    events: readonly NewEvent[],
    metadata: EventMetadata,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (events.length === 0) return this.emptyAppend(streamId, expected, options.client);
    const batch = events.map((e) => ({ id: e.eventId ?? randomUUID(), type: e.type, v: e.schemaVersion, payload: e.payload }));
    const params = [streamId, JSON.stringify(batch), JSON.stringify(metadata), expectedAsNumber(expected)];

    const timing = notifyTiming(options);
    // 'any' has no expected version to lose on; a unique violation there is a race worth retrying.
    for (let attempt = 0; ; attempt++) {
      const written = await this.tryAppend(APPEND_STATEMENT[timing], params, batch.length, options.client, (rows, client) =>
        this.applyInline(client, this.recorded(streamId, batch, metadata, rows)),
      );
      if (written) {
        eventsAppended.inc(written.length);
        if (timing === 'after-commit') this.notifier.send(written.map((r) => notification(r, streamId)));
        return { version: written.at(-1)!.stream_version, events: this.recorded(streamId, batch, metadata, written), idempotent: false };
      }
      const previous = await this.findByEventIds(
        batch.map((e) => e.id),
        options.client,
      );
      if (previous.length > 0) return this.idempotentResult(streamId, batch.length, previous);
      if (expected === 'any' && attempt < 5) continue;
      throw new ConcurrencyError(streamId, expected, await this.currentVersion(streamId, options.client));
    }
  }

  /**
   * Runs the append (and inline projections) in its own transaction, or in a savepoint of the
   * caller's. Returns the inserted rows, or null when the version check or a unique index refused.
   */
  private async tryAppend(
    statement: { name: string; text: string },
    params: unknown[],
    expectedRows: number,
    callerClient: PoolClient | undefined,
    afterInsert: (rows: AppendRow[], client: PoolClient) => Promise<void>,
  ): Promise<AppendRow[] | null> {
    if (!callerClient && this.inline.length === 0) {
      // Nothing to run inside the transaction: one autocommit statement is the fastest path.
      try {
        const { rows } = await this.pool.query<AppendRow>({ ...statement, values: params });
        return rows.length === expectedRows ? rows : null;
      } catch (error) {
        if (isUniqueViolation(error)) return null;
        throw error;
      }
    }
    const client = callerClient ?? (await this.pool.connect());
    const [begin, commit, rollback] = callerClient
      ? ['SAVEPOINT kl_append', 'RELEASE SAVEPOINT kl_append', 'ROLLBACK TO SAVEPOINT kl_append']
      : ['BEGIN', 'COMMIT', 'ROLLBACK'];
    try {
      await client.query(begin);
      try {
        const { rows } = await client.query<AppendRow>({ ...statement, values: params });
        if (rows.length !== expectedRows) {
          await client.query(rollback);
          return null;
        }
        await afterInsert(rows, client);
        await client.query(commit);
        return rows;
      } catch (error) {
        await client.query(rollback);
        if (isUniqueViolation(error)) return null;
        throw error;
      }
    } finally {
      if (!callerClient) client.release();
    }
  }

  private async applyInline(client: PoolClient, events: RecordedEvent[]): Promise<void> {
    for (const projection of this.inline) await projection.apply(client, events);
  }

  private recorded(
    streamId: string,
    batch: { id: string; type: string; v: number; payload: unknown }[],
    metadata: EventMetadata,
    rows: AppendRow[],
  ): RecordedEvent[] {
    return rows.map((row, i) => ({
      position: Number(row.global_position),
      transactionId: row.transaction_id,
      streamId,
      streamVersion: row.stream_version,
      eventId: row.event_id,
      type: batch[i].type,
      schemaVersion: batch[i].v,
      payload: batch[i].payload,
      metadata,
      recordedAt: row.recorded_at,
    }));
  }

  private idempotentResult(streamId: string, batchSize: number, previous: RecordedEvent[]): AppendResult {
    const sameBatch = previous.length === batchSize && previous.every((e) => e.streamId === streamId);
    if (!sameBatch) throw new EventIdConflictError(previous.map((e) => e.eventId));
    return { version: Math.max(...previous.map((e) => e.streamVersion)), events: previous, idempotent: true };
  }

  private async emptyAppend(streamId: string, expected: ExpectedVersion, client?: PoolClient): Promise<AppendResult> {
    const version = await this.currentVersion(streamId, client);
    const want = expectedAsNumber(expected);
    if (want !== null && want !== version) throw new ConcurrencyError(streamId, expected, version);
    return { version, events: [], idempotent: false };
  }

  async currentVersion(streamId: string, client?: PoolClient): Promise<number> {
    const { rows } = await (client ?? this.pool).query<{ v: number }>(
      'SELECT coalesce(max(stream_version), 0)::int AS v FROM events WHERE stream_id = $1',
      [streamId],
    );
    return rows[0].v;
  }

  async readStream(streamId: string, client?: PoolClient): Promise<RecordedEvent[]> {
    const { rows } = await (client ?? this.pool).query<EventRow>(
      `SELECT ${SELECT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version`,
      [streamId],
    );
    return rows.map(toRecordedEvent);
  }

  /** Several streams at once, each in version order. */
  async readStreams(streamIds: readonly string[], client?: PoolClient): Promise<RecordedEvent[]> {
    if (streamIds.length === 0) return [];
    const { rows } = await (client ?? this.pool).query<EventRow>(
      `SELECT ${SELECT_COLUMNS} FROM events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, stream_version`,
      [streamIds],
    );
    return rows.map(toRecordedEvent);
  }

  /**
   * Events after `after` in (transaction_id, global_position) order, only from transactions older
   * than every transaction still running. A transaction that drew a lower position but commits
   * later is therefore waited for, never skipped. Checkpoint the last event's pair.
   */
  async readAll(after: Checkpoint, limit: number, client?: PoolClient): Promise<RecordedEvent[]> {
    const { rows } = await (client ?? this.pool).query<EventRow>(
      `SELECT ${SELECT_COLUMNS} FROM events
       WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
         AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY events.transaction_id, events.global_position LIMIT $3`,
      [after.transactionId, after.position, limit],
    );
    return rows.map(toRecordedEvent);
  }

  /**
   * Every event, in `order`, `batchSize` at a time, streamed by one binary `COPY … TO STDOUT` on the
   * caller's client inside its transaction (a REPEATABLE READ snapshot): binary COPY costs a
   * fraction of node-postgres's row parse, which dominated a rebuild. `before`: only events of
   * transactions older than this xid, the readers' gate (see currentXmin); omit it only under a
   * lock that keeps writers out. Stopping early leaves the client inside the COPY: destroy it.
   */
  async *replay(
    client: ClientBase,
    { order, before, batchSize = 5000, metadata = true, limit }: ReplayReadOptions,
  ): AsyncGenerator<RecordedEvent[]> {
    let batch: RecordedEvent[] = [];
    for await (const rows of copyOutBinary(client, replayQuery({ order, before, metadata, limit }), COPY_FIELDS)) {
      while (rows.next()) batch.push(fromCopyRow(rows));
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** The oldest transaction still running, as a gate for replay: every event below it is committed or never will be. */
  async currentXmin(client: ClientBase): Promise<string> {
    const { rows } = await client.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
    return rows[0].xmin;
  }

  /** The checkpoint of the last event in the read order (below `before` when given); START when there is none. */
  async lastCheckpoint(client: PoolClient, before?: string): Promise<Checkpoint> {
    const { rows } = await client.query<{ transaction_id: string; position: string }>(
      `SELECT transaction_id::text AS transaction_id, global_position AS position FROM events
       ${before === undefined ? '' : 'WHERE transaction_id < $1::xid8'} ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`,
      before === undefined ? [] : [before],
    );
    return rows[0] ? { transactionId: rows[0].transaction_id, position: Number(rows[0].position) } : START;
  }

  /** How many events lie after a checkpoint (capped, for lag reporting). */
  async countAfter(after: Checkpoint, cap = 1_000_000): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint) LIMIT $3) t`,
      [after.transactionId, after.position, cap],
    );
    return Number(rows[0].n);
  }

  private async findByEventIds(ids: string[], client?: PoolClient): Promise<RecordedEvent[]> {
    const { rows } = await (client ?? this.pool).query<EventRow>(
      `SELECT ${SELECT_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY global_position`,
      [ids],
    );
    return rows.map(toRecordedEvent);
  }
}

interface AppendRow {
  global_position: string;
  stream_version: number;
  type: string;
  event_id: string;
  recorded_at: Date;
  transaction_id: string;
}
