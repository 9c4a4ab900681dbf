import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';
import {
  EventStore,
  isBefore,
  ProjectionRunner,
  type AppliedBatch,
  type Checkpoint,
  type Projection,
  type RecordedEvent,
} from '../../src/event-store/index.js';
import { createPool } from '@keyledger/nestjs/internal';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createScratchDatabase, gatePassed, type ScratchDatabase } from '../support/test-database.js';
import { gate } from '../support/test-hooks.js';
import { until } from '../support/poll.js';

/** Records every event it sees; a primary key makes a double application fail loudly. */
class RecordingProjection implements Projection {
  failOnStream: string | undefined;
  constructor(readonly name: string) {}

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    for (const e of events) {
      if (e.streamId === this.failOnStream) throw new Error(`cannot apply ${e.streamId}`);
      await client.query('INSERT INTO test_projection_rows (projection, position, stream_id) VALUES ($1, $2, $3)', [
        this.name,
        e.position,
        e.streamId,
      ]);
    }
  }

  async reset(client: PoolClient): Promise<void> {
    await client.query('DELETE FROM test_projection_rows WHERE projection = $1', [this.name]);
  }
}

describe('projections (real PostgreSQL)', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  let store: EventStore;

  const append = (stream: string, client?: PoolClient) =>
    store.append(stream, 'any', [{ type: 'test.happened', schemaVersion: 1, payload: {} }], {}, { client });

  async function seen(projection: string, streams: string[]): Promise<string[]> {
    const { rows } = await pool.query<{ stream_id: string }>(
      'SELECT stream_id FROM test_projection_rows WHERE projection = $1 AND stream_id = ANY($2) ORDER BY seq',
      [projection, streams],
    );
    return rows.map((r) => r.stream_id);
  }

  /** Wakes the runner until it has seen `expected` (other test files may hold transactions open briefly). */
  async function eventuallySeen(sut: ProjectionRunner, streams: string[], expected: string[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await sut.wake();
      const got = await seen(sut.name, streams);
      if (got.length >= expected.length || Date.now() > deadline) {
        expect(got).toEqual(expected);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Wakes the runner and waits, pass by pass (its own re-wakes included), until it has applied every event committed now. */
  async function atHead(sut: ProjectionRunner): Promise<void> {
    const client = await pool.connect();
    let head: Checkpoint;
    try {
      head = await store.lastCheckpoint(client);
    } finally {
      client.release();
    }
    await sut.wake();
    while (isBefore(await sut.checkpoint(), head)) await sut.nextPass();
  }

  async function runner(projection: Projection, batchSize = 500): Promise<ProjectionRunner> {
    const r = new ProjectionRunner(projection, pool, store, batchSize);
    await r.init();
    return r;
  }

  beforeAll(async () => {
    db = await createScratchDatabase('projections');
    pool = new Pool({ connectionString: db.url, max: 20 });
    store = new EventStore(pool);
    await pool.query(`CREATE TABLE IF NOT EXISTS test_projection_rows (
      seq bigserial, projection text NOT NULL, position bigint NOT NULL, stream_id text NOT NULL,
      PRIMARY KEY (projection, position))`);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('waits for a slow transaction that drew an earlier position, and applies both in commit-safe order', async () => {
    const sut = await runner(new RecordingProjection(`p-${randomUUID()}`));
    const [slow, fast] = [`slow-${randomUUID()}`, `fast-${randomUUID()}`];
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const slowResult = await append(slow, client);
      const fastResult = await append(fast);
      expect(fastResult.events[0].position).toBeGreaterThan(slowResult.events[0].position);

      await sut.wake();
      expect(await seen(sut.name, [slow, fast])).toEqual([]); // fast is committed, but slow might still commit

      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await eventuallySeen(sut, [slow, fast], [slow, fast]);
  });

  it('never skips events from several slow transactions that commit in reverse order', async () => {
    const sut = await runner(new RecordingProjection(`p-${randomUUID()}`));
    const streams = Array.from({ length: 3 }, () => `slow-${randomUUID()}`);
    const clients = await Promise.all(streams.map(() => pool.connect()));
    try {
      for (const [i, c] of clients.entries()) {
        await c.query('BEGIN');
        await append(streams[i], c);
      }
      const fast = `fast-${randomUUID()}`;
      await append(fast);
      for (const c of [...clients].reverse()) {
        await c.query('COMMIT');
        await sut.wake();
      }
      await eventuallySeen(sut, [...streams, fast], [...streams, fast]);
    } finally {
      for (const c of clients) c.release();
    }
  });

  it('moves past the hole a rolled-back transaction leaves', async () => {
    const sut = await runner(new RecordingProjection(`p-${randomUUID()}`));
    const [rolledBack, after] = [`rb-${randomUUID()}`, `after-${randomUUID()}`];
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await append(rolledBack, client);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    await append(after);
    await eventuallySeen(sut, [rolledBack, after], [after]);
  });

  /*
   * Once the session ends nothing wakes the runner (a runner has no poll of its own; the app's is
   * PROJECTION_POLL_MS): it wakes itself while committed events lie behind the gate, every 5 ms
   * doubling to 200 ms, so it applies the event at most ~200 ms + a batch after the gate passes it
   * (another test file's transaction can hold the gate a moment longer: the bound counts from
   * then). The bound asserted, 1 s, leaves room for a loaded machine.
   */
  it('is stalled, never made to skip, by an idle-in-transaction session, and applies the event by itself soon after it ends', async () => {
    const sut = await runner(new RecordingProjection(`p-${randomUUID()}`));
    const idle = await pool.connect();
    const stream = `s-${randomUUID()}`;
    try {
      await idle.query('BEGIN');
      await idle.query('SELECT pg_current_xact_id()'); // holds an xid, writes nothing
      const { events } = await append(stream);
      await sut.wake();
      expect(await seen(sut.name, [stream])).toEqual([]);
      expect(['idle', 'running']).toContain((await sut.status()).state); // idle, or in one of its own re-wakes
      await idle.query('COMMIT');
      await gatePassed(pool, events[0].transactionId);
      await until('the runner to apply the held-back event by itself', async () => (await seen(sut.name, [stream])).length === 1, {
        timeoutMs: 1_000,
        intervalMs: 10,
      });
    } finally {
      idle.release();
      await sut.stop();
    }
  });

  it('tells its listeners what each committed batch applied, until they unsubscribe', async () => {
    const sut = await runner(new RecordingProjection(`p-${randomUUID()}`), 2);
    // Up to the head first (the earlier tests' events are not this test's); atHead() also waits
    // out another test file's open transaction, which can hold events back and split batches.
    await atHead(sut);
    const applied: AppliedBatch[] = [];
    const off = sut.onApplied((batch) => applied.push(batch));
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await append(`s-${randomUUID()}`));
    await atHead(sut);
    const at = results.map(({ events: [e] }) => ({ transactionId: e.transactionId, position: e.position }));
    // Batches of at most two (two and one, unless the gate split them), in order, ending at the head.
    expect(applied.reduce((n, b) => n + b.count, 0)).toBe(3);
    expect(applied.every((b) => b.count <= 2)).toBe(true);
    expect(applied.map((b) => b.checkpoint)).toEqual(at.filter((c) => applied.some((b) => b.checkpoint.position === c.position)));
    expect(applied.at(-1)?.checkpoint).toEqual(at[2]);
    expect(await sut.checkpoint()).toEqual(at[2]);

    off();
    await append(`s-${randomUUID()}`);
    await atHead(sut);
    expect(await seen(sut.name, [results[0].events[0].streamId])).toHaveLength(1);
    expect(applied.reduce((n, b) => n + b.count, 0)).toBe(3);
    await sut.stop();
  });

  it('halts on an event it cannot apply, and after a restart resumes from its checkpoint without doubles', async () => {
    const name = `p-${randomUUID()}`;
    const streams = Array.from({ length: 6 }, (_, i) => `s${i}-${randomUUID()}`);
    for (const s of streams) await append(s);
    const broken = new RecordingProjection(name);
    broken.failOnStream = streams[3];
    const first = await runner(broken, 2);
    const deadline = Date.now() + 10_000;
    while ((await first.status()).state !== 'halted' && Date.now() < deadline) await first.wake();
    const halted = await first.status();
    expect(halted.state).toBe('halted');
    expect(halted.error).toContain(streams[3]);
    // Batches of two: everything before the poison event's batch committed, nothing from it on.
    const before = await seen(name, streams);
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(before).toEqual(streams.slice(0, before.length));
    expect(before).not.toContain(streams[3]);

    const restarted = await runner(new RecordingProjection(name), 2); // the cause is fixed, the process restarts
    await eventuallySeen(restarted, streams, streams);
    expect((await restarted.status()).state).not.toBe('halted');
  });

  it('does not halt when the database is unreachable: it retries by itself and catches up once it is back', async () => {
    const proxy = await TcpProxy.start(db.url);
    const viaProxy = createPool({ connectionString: proxy.urlFor(db.url), max: 2 }, new Logger('test'));
    try {
      const name = `p-${randomUUID()}`;
      const sut = new ProjectionRunner(new RecordingProjection(name), viaProxy, store);
      await sut.init();
      await proxy.cut();
      const stream = `s-${randomUUID()}`;
      await append(stream); // straight to the database: only the runner's way there is cut
      await sut.wake(); // fails to connect

      await proxy.restore();
      // Nobody wakes or resumes it: its own retry, at most the backoff cap (5 s) later, catches up.
      await until('the projection to apply the event by its own retry', async () => (await seen(name, [stream])).length === 1, {
        timeoutMs: 5_000 + 1_000,
      });
      const { rows } = await pool.query<{ halted_at: Date | null }>('SELECT halted_at FROM projection_checkpoints WHERE name = $1', [name]);
      expect(rows[0].halted_at).toBeNull();
      expect((await sut.status()).state).not.toBe('halted');
      await sut.stop();
    } finally {
      await proxy.cut();
      await viaProxy.end();
    }
  });

  it('lets only one of two runners of one projection work at a time', async () => {
    const name = `p-${randomUUID()}`;
    const streams = Array.from({ length: 6 }, () => `s-${randomUUID()}`);
    for (const s of streams) await append(s);
    // A's batch is held inside apply, holding the projection's lock; B tries a batch meanwhile.
    const held = gate();
    const entered: string[] = [];
    class Held extends RecordingProjection {
      constructor(private readonly who: string) {
        super(name);
      }
      override async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
        entered.push(this.who);
        await held.opened;
        await super.apply(client, events);
      }
    }
    const [a, b] = [await runner(new Held('a'), 3), await runner(new Held('b'), 3)];
    const aBatch = a.runBatch();
    await until('runner A to enter apply', () => entered.length > 0, { timeoutMs: 5_000 });
    // With the lock, B gives up at once (0 applied) and never enters apply; without it, B would
    // enter apply too (and wait on the same gate): either way the race below settles.
    let bSettled = false;
    const bBatch = b.runBatch().finally(() => (bSettled = true));
    await until('runner B to settle or enter apply', () => bSettled || entered.length > 1, { timeoutMs: 5_000 });
    expect(entered).toEqual(['a']);
    held.open();
    expect(await bBatch).toBe(0);
    expect(await aBatch).toBeGreaterThan(0);
    await eventuallySeen(a, streams, streams);
    expect([(await a.status()).state, (await b.status()).state]).not.toContain('halted');
  });

  it('rejects a stale checkpoint writer (compare-and-set)', async () => {
    const name = `p-${randomUUID()}`;
    const sut = await runner(new RecordingProjection(name));
    await append(`s-${randomUUID()}`);
    // Someone else moves the checkpoint while this runner's batch is in flight.
    const sneaky: Projection = {
      name,
      apply: async (client) => {
        await pool.query(`UPDATE projection_checkpoints SET position = position + 1 WHERE name = $1`, [name]);
        await client.query('SELECT 1');
      },
      reset: () => Promise.resolve(),
    };
    const stale = new ProjectionRunner(sneaky, pool, store);
    await stale.wake();
    const status = await stale.status();
    expect(status.state).toBe('halted');
    expect(status.error).toMatch(/checkpoint .* moved/);
    void sut;
  });

  it('rebuilds to exactly the rows the live projection built', async () => {
    const name = `p-${randomUUID()}`;
    const sut = await runner(new RecordingProjection(name), 7);
    const streams = Array.from({ length: 15 }, () => `s-${randomUUID()}`);
    for (const s of streams) await append(s);
    await eventuallySeen(sut, streams, streams);
    // Earlier tests in this file appended too; compare this test's streams, row for row.
    const rows = () =>
      pool.query('SELECT position, stream_id FROM test_projection_rows WHERE projection = $1 AND stream_id = ANY($2) ORDER BY position', [
        name,
        streams,
      ]);
    const live = await rows();
    let progress = 0;
    await sut.rebuild((done) => (progress = done));
    const rebuilt = await rows();
    expect(rebuilt.rows).toEqual(live.rows);
    expect(progress).toBeGreaterThanOrEqual(15);
  });
});
