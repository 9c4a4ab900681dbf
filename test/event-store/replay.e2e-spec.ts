import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import {
  EventStore,
  ProjectionRunner,
  START,
  type Checkpoint,
  type Projection,
  type ProjectionReplay,
  type RecordedEvent,
} from '../../src/event-store/index.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';

/**
 * Rebuilds replay every event through one COPY (EventStore.replay) in one transaction. These tests
 * pin its order against readAll's, its stream grouping, and what a failed replay leaves behind.
 * A database of its own: a rebuild replays every event, and on the shared one that is whatever the
 * other files have appended by then (and their inline rebuilds' locks) rather than these tests' events.
 */
describe('rebuild replay (real PostgreSQL)', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  let store: EventStore;

  const append = (stream: string, n = 1) =>
    store.append(
      stream,
      'any',
      Array.from({ length: n }, () => ({ type: 'test.happened', schemaVersion: 1, payload: { n: randomUUID() } })),
      {
        requestId: randomUUID(),
      },
    );

  async function inSnapshot<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      return await work(client);
    } finally {
      client.release(true); // closing it ends the transaction, whatever state a failure left it in
    }
  }

  async function collect(source: AsyncIterable<RecordedEvent[]>): Promise<RecordedEvent[]> {
    const all: RecordedEvent[] = [];
    for await (const batch of source) all.push(...batch);
    return all;
  }

  beforeAll(async () => {
    db = await createScratchDatabase('replay');
    pool = new Pool({ connectionString: db.url, max: 10 });
    store = new EventStore(pool);
    await pool.query(`CREATE TABLE IF NOT EXISTS test_replay_rows (
      projection text NOT NULL, position bigint NOT NULL, stream_id text NOT NULL, PRIMARY KEY (projection, position))`);
    for (let i = 0; i < 12; i++) await append(`replay-${randomUUID()}`, 1 + (i % 3));
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('replays in global order exactly what readAll pages through, batch boundaries included', async () => {
    await inSnapshot(async (client) => {
      const before = await store.currentXmin(client);
      const replayed = await collect(store.replay(client, { order: 'global', before, batchSize: 7 }));
      const paged: RecordedEvent[] = [];
      let after: Checkpoint = START;
      for (;;) {
        const batch = await store.readAll(after, 500, client);
        const below = batch.filter((e) => BigInt(e.transactionId) < BigInt(before));
        paged.push(...below);
        if (batch.length === 0 || below.length < batch.length) break;
        after = { transactionId: batch[batch.length - 1].transactionId, position: batch[batch.length - 1].position };
      }
      expect(replayed.length).toBeGreaterThanOrEqual(12);
      expect(replayed).toEqual(paged);
      // A reader that does not need metadata gets the same events with an empty one.
      const bare = await collect(store.replay(client, { order: 'global', before, batchSize: 7, metadata: false }));
      expect(bare).toEqual(replayed.map((e) => ({ ...e, metadata: {} })));
      expect(replayed.some((e) => Object.keys(e.metadata).length > 0)).toBe(true);
      const last = replayed[replayed.length - 1];
      expect(await store.lastCheckpoint(client, before)).toEqual({ transactionId: last.transactionId, position: last.position });
    });
  });

  it('replays stream by stream, each in version order, for per-stream read models', async () => {
    await inSnapshot(async (client) => {
      const replayed = await collect(store.replay(client, { order: 'stream', batchSize: 5 }));
      const seenStreams: string[] = [];
      for (const [i, e] of replayed.entries()) {
        const previous = replayed[i - 1];
        if (previous?.streamId === e.streamId) expect(e.streamVersion).toBe(previous.streamVersion + 1);
        else {
          expect(seenStreams).not.toContain(e.streamId); // each stream arrives in one run
          seenStreams.push(e.streamId);
          expect(e.streamVersion).toBe(1);
        }
      }
    });
  });

  /** Writes one row per event with a replay whose writes overlap, and can be told to fail. */
  class RowsProjection implements Projection {
    failAt: number | undefined;
    constructor(readonly name: string) {}

    async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
      await this.write(client, events);
    }

    async reset(client: PoolClient): Promise<void> {
      await client.query('DELETE FROM test_replay_rows WHERE projection = $1', [this.name]);
    }

    replay(client: PoolClient): ProjectionReplay {
      return {
        order: 'global',
        readsMetadata: true,
        prepare: (events) => () => this.write(client, events),
        end: () => Promise.resolve(),
      };
    }

    private async write(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
      if (this.failAt !== undefined && events.some((e) => e.position >= this.failAt!)) {
        // A statement that fails in PostgreSQL, as a broken write would.
        await client.query(`SELECT 1 / 0 AS boom`);
      }
      await client.query(
        `INSERT INTO test_replay_rows (projection, position, stream_id) SELECT $1, * FROM unnest($2::bigint[], $3::text[])`,
        [this.name, events.map((e) => e.position), events.map((e) => e.streamId)],
      );
    }
  }

  it('a rebuild with a replay writes every event once', async () => {
    const projection = new RowsProjection(`r-${randomUUID()}`);
    const sut = new ProjectionRunner(projection, pool, store);
    await sut.init();
    let progress = 0;
    await sut.rebuild((n) => (progress = n));
    const { rows } = await pool.query<{ n: string; distinct_positions: string }>(
      'SELECT count(*) AS n, count(DISTINCT position) AS distinct_positions FROM test_replay_rows WHERE projection = $1',
      [projection.name],
    );
    expect(Number(rows[0].n)).toBe(progress);
    expect(Number(rows[0].distinct_positions)).toBe(progress);
    const checkpoint = await sut.checkpoint();
    const head = await pool.query<{ max: string }>('SELECT max(position) AS max FROM test_replay_rows WHERE projection = $1', [
      projection.name,
    ]);
    expect(checkpoint.position).toBe(Number(head.rows[0].max));
  });

  it('a role that does not own the read model still rebuilds it', async () => {
    const role = `keyledger_test_replay_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const password = randomUUID();
    await pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON test_replay_rows, projection_checkpoints TO ${role}`);
    await pool.query(`GRANT SELECT ON events TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    const limited = new Pool({ connectionString: url.toString(), max: 4 });
    try {
      const projection = new RowsProjection(`r-${randomUUID()}`);
      const sut = new ProjectionRunner(projection, limited, new EventStore(limited));
      await sut.init();
      await sut.rebuild();
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM test_replay_rows WHERE projection = $1', [
        projection.name,
      ]);
      expect(Number(rows[0].n)).toBeGreaterThanOrEqual(12);
    } finally {
      await limited.end();
      await pool.query(`REVOKE ALL ON test_replay_rows, projection_checkpoints, events FROM ${role}`);
      await pool.query(`DROP ROLE ${role}`);
    }
  });

  it('a replay that fails reports the statement that failed and leaves the read model as it was', async () => {
    const projection = new RowsProjection(`r-${randomUUID()}`);
    const sut = new ProjectionRunner(projection, pool, store);
    await sut.init();
    await sut.wake();
    const count = async () =>
      Number(
        (await pool.query<{ n: string }>('SELECT count(*) AS n FROM test_replay_rows WHERE projection = $1', [projection.name])).rows[0].n,
      );
    const before = await count();
    const checkpoint = await sut.checkpoint();
    expect(before).toBeGreaterThan(0);

    projection.failAt = checkpoint.position; // the last batch fails
    await expect(sut.rebuild()).rejects.toThrow(/division by zero/);
    expect(await count()).toBe(before);
    expect(await sut.checkpoint()).toEqual(checkpoint);
  });

  // Last: its rows carry chosen transaction ids, out of step with their positions.
  it('orders by transaction id as a number, not as text (999 before 1000)', async () => {
    // Appends get their xid from the server; these rows get chosen ones, already past, on both
    // sides of the two highest powers of ten the cluster's xids have crossed.
    const current = BigInt((await pool.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid')).rows[0].xid);
    const power = 10n ** BigInt(current.toString().length - 1);
    const xids = [power / 10n - 1n, power / 10n, power - 1n, power].map(String);
    const stream = `digits-${randomUUID()}`;
    for (const [i, xid] of xids.entries()) {
      await pool.query(
        `INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, metadata, transaction_id)
         VALUES ($1, $2, $3, 'test.happened', 1, '{}', '{}', $4::xid8)`,
        [stream, i + 1, randomUUID(), xid],
      );
    }
    await inSnapshot(async (client) => {
      const replayed = (await collect(store.replay(client, { order: 'global' }))).filter((e) => e.streamId === stream);
      expect(replayed.map((e) => e.transactionId)).toEqual(xids);
      expect(replayed.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4]);
    });
  });
});
