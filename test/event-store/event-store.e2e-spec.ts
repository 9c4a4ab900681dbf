import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { ConcurrencyError, EventIdConflictError, EventStore, type NewEvent } from '../../src/event-store/index.js';
import { createScratchDatabase, testPool, type ScratchDatabase } from '../support/test-database.js';

const event = (n = 1, eventId?: string): NewEvent => ({ eventId, type: 'test.happened', schemaVersion: 1, payload: { n } });

describe('EventStore (real PostgreSQL)', () => {
  let pool: Pool;
  let sut: EventStore;

  beforeAll(() => {
    pool = testPool(25);
    sut = new EventStore(pool);
  });
  afterAll(() => pool.end());

  it('appends to a new stream and reads it back in order', async () => {
    const stream = `test-${randomUUID()}`;
    const result = await sut.append(stream, 'no-stream', [event(1), event(2)], { actor: 'test' });
    expect(result.version).toBe(2);
    expect(result.idempotent).toBe(false);
    const read = await sut.readStream(stream);
    expect(read.map((e) => [e.streamVersion, e.payload])).toEqual([
      [1, { n: 1 }],
      [2, { n: 2 }],
    ]);
    expect(read[0].metadata).toEqual({ actor: 'test' });
    expect(read[1].position).toBeGreaterThan(read[0].position);
  });

  it('lets exactly one of 20 concurrent appends with the same expected version win', async () => {
    const stream = `test-${randomUUID()}`;
    await sut.append(stream, 'no-stream', [event()], {});
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => sut.append(stream, 1, [event(i)], {})));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const r of lost) {
      expect(r.reason).toBeInstanceOf(ConcurrencyError);
      expect((r.reason as ConcurrencyError).actual).toBe(2);
    }
    expect(await sut.readStream(stream)).toHaveLength(2);
  });

  it('names the stream, the expected and the actual version in a conflict', async () => {
    const stream = `test-${randomUUID()}`;
    await sut.append(stream, 'no-stream', [event()], {});
    await expect(sut.append(stream, 'no-stream', [event()], {})).rejects.toThrow(
      new RegExp(`${stream}.*expected version no-stream.*version 1`),
    );
    await expect(sut.append(stream, 5, [event()], {})).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await sut.currentVersion(stream)).toBe(1);
  });

  it('treats a retried append with the same event ids as done, writing nothing', async () => {
    const stream = `test-${randomUUID()}`;
    const ids = [randomUUID(), randomUUID()];
    const first = await sut.append(stream, 'no-stream', [event(1, ids[0]), event(2, ids[1])], {});
    const retry = await sut.append(stream, 'no-stream', [event(1, ids[0]), event(2, ids[1])], {});
    expect(retry.idempotent).toBe(true);
    expect(retry.events.map((e) => e.position)).toEqual(first.events.map((e) => e.position));
    expect(retry.version).toBe(2);
    const retryAny = await sut.append(stream, 'any', [event(1, ids[0]), event(2, ids[1])], {});
    expect(retryAny.idempotent).toBe(true);
    expect(await sut.readStream(stream)).toHaveLength(2);
  });

  it('refuses an event id reused for another stream', async () => {
    const id = randomUUID();
    await sut.append(`test-${randomUUID()}`, 'no-stream', [event(1, id)], {});
    await expect(sut.append(`test-${randomUUID()}`, 'no-stream', [event(1, id)], {})).rejects.toBeInstanceOf(EventIdConflictError);
  });

  it('leaves the version unchanged on an empty append', async () => {
    const stream = `test-${randomUUID()}`;
    await sut.append(stream, 'no-stream', [event(), event()], {});
    const result = await sut.append(stream, 2, [], {});
    expect(result.version).toBe(2);
    expect(await sut.currentVersion(stream)).toBe(2);
    await expect(sut.append(stream, 1, [], {})).rejects.toBeInstanceOf(ConcurrencyError);
  });

  it('appends with "any" at the end of the stream', async () => {
    const stream = `test-${randomUUID()}`;
    await sut.append(stream, 'any', [event()], {});
    const result = await sut.append(stream, 'any', [event()], {});
    expect(result.version).toBe(2);
  });

  it('joins a caller transaction: rolled back, nothing is stored', async () => {
    const stream = `test-${randomUUID()}`;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await sut.append(stream, 'no-stream', [event()], {}, { client });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await sut.readStream(stream)).toHaveLength(0);
  });

  it('keeps a caller transaction usable after a conflict inside it', async () => {
    const stream = `test-${randomUUID()}`;
    await sut.append(stream, 'no-stream', [event()], {});
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await expect(sut.append(stream, 'no-stream', [event()], {}, { client })).rejects.toBeInstanceOf(ConcurrencyError);
      await sut.append(stream, 1, [event()], {}, { client });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await sut.currentVersion(stream)).toBe(2);
  });

  describe('append-only, enforced by the database', () => {
    /*
     * On a database of its own: TRUNCATE takes an exclusive lock before its trigger can refuse, and
     * on the shared database every test app's projection runners, webhook dispatcher and replica
     * read the events table all the time, so the lock was rarely free.
     */
    let scratch: ScratchDatabase;
    let own: Pool;
    let store: EventStore;

    beforeAll(async () => {
      scratch = await createScratchDatabase('append_only');
      own = new Pool({ connectionString: scratch.url, max: 2 });
      store = new EventStore(own);
    });
    afterAll(async () => {
      await own.end();
      await scratch.drop();
    });

    it.each([
      ['UPDATE', `UPDATE events SET type = 'tampered' WHERE global_position = (SELECT max(global_position) FROM events)`],
      ['DELETE', 'DELETE FROM events WHERE global_position = (SELECT max(global_position) FROM events)'],
      ['TRUNCATE', 'TRUNCATE events'],
    ])('rejects a raw %s', async (op, sql) => {
      await store.append(`test-${randomUUID()}`, 'no-stream', [event()], {});
      await expect(own.query(sql)).rejects.toThrow(`the events table is append-only: ${op} is not allowed`);
      expect(Number((await own.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0].n)).toBeGreaterThan(0);
    });
  });

  it('sends a notification per event at commit', async () => {
    const stream = `test-${randomUUID()}`;
    const listener = await pool.connect();
    try {
      await listener.query('LISTEN keyledger_events');
      const received = new Promise<string>((resolve) => {
        listener.on('notification', (msg) => {
          if (msg.payload?.includes(stream)) resolve(msg.payload);
        });
      });
      const result = await sut.append(stream, 'no-stream', [event()], {});
      expect(JSON.parse(await received)).toEqual({ p: result.events[0].position, s: stream, v: 1, t: 'test.happened' });
    } finally {
      await listener.query('UNLISTEN *');
      listener.release();
    }
  });

  it("announces an append in a caller's transaction only if that transaction commits (in-transaction, whatever notify asks)", async () => {
    const [rolledBack, committed] = [`test-${randomUUID()}`, `test-${randomUUID()}`];
    const listener = await pool.connect();
    const caller = await pool.connect();
    try {
      await listener.query('LISTEN keyledger_events');
      const streams: string[] = [];
      const done = new Promise<void>((resolve) => {
        listener.on('notification', (msg) => {
          const s = (JSON.parse(msg.payload ?? '{}') as { s?: string }).s;
          if (s === rolledBack || s === committed) streams.push(s);
          if (s === committed) resolve();
        });
      });
      await caller.query('BEGIN');
      await sut.append(rolledBack, 'no-stream', [event()], {}, { client: caller, notify: 'after-commit' });
      await caller.query('ROLLBACK');
      await sut.notificationsSent(); // nothing may be queued for after the commit
      await caller.query('BEGIN');
      await sut.append(committed, 'no-stream', [event()], {}, { client: caller, notify: 'after-commit' });
      await caller.query('COMMIT');
      await done; // notifications are delivered in commit order: anything for rolledBack came first
      expect(streams).toEqual([committed]);
    } finally {
      caller.release();
      await listener.query('UNLISTEN *');
      listener.release();
    }
  });
});
