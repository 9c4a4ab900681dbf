import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import request from 'supertest';
import { EventStore, ProjectionsService } from '../../src/event-store/index.js';
import { ApiKey } from '../../src/keys/domain/api-key.aggregate.js';
import { serializeKeyEvent } from '../../src/keys/domain/key-events.js';
import { keyStreamId } from '@keyledger/nestjs/internal';
import type { TestApp } from '../support/test-app.js';
import { jest } from '@jest/globals';
import { gate } from '../support/test-hooks.js';
import { auditCaughtUp, openIsolatedApp, runVerifier, withTriggerOff, SETUP_TIMEOUT, TIMEOUT, type IsolatedApp } from './helpers.js';
import { bearer } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';

interface Digest {
  position: number;
  events: number;
  chainHash: string;
  at: string;
  digest: string;
}

interface Verified {
  ok: boolean;
  checkedEvents: number;
  headPosition: number;
  chainHash: string;
  firstMismatch?: { position: number; reason: string };
  digest?: { position: number; chainHash: string; matches: boolean };
}

interface ChainEvent {
  position: number;
  transactionId: string;
  type: string;
  streamId: string;
}

/**
 * Hard cases 9 and 14 — rebuild reproduces the chain; an edit, a deletion, a reordering and an
 * insertion are each found at the right position. Tampering needs the superuser to disable the
 * append-only trigger, which would poison the database other test files share: everything here runs
 * in a database of its own, and every test puts the original events back afterwards.
 */
describe('audit hash chain: rebuild, verify, tampering, digests and an outside verifier', () => {
  let isolated: IsolatedApp | undefined;
  let db: IsolatedApp['db'];
  let sut: TestApp;
  let pool: Pool;
  let admin: { id: string; token: string };
  let intact: Digest;
  let chain: ChainEvent[] = [];
  const keys: Record<string, { id: string }> = {};
  const A = uniqueTenant();
  const B = uniqueTenant();
  let tampered = false;
  let rebuiltAfterTamper = false;

  const get = (path: string, query: Record<string, string> = {}) => request(sut.url).get(path).query(query).set(bearer(admin.token));
  const act = (method: 'post' | 'patch', path: string, body: Record<string, unknown> = {}) =>
    request(sut.url)[method](path).set(bearer(admin.token)).send(body);
  const verify = async (fromDigest?: string): Promise<Verified> =>
    (await get('/admin/audit/verify', fromDigest === undefined ? {} : { fromDigest }).expect(200)).body as Verified;
  const digest = async (): Promise<Digest> => (await get('/admin/audit/digest').expect(200)).body as Digest;
  const count = async (table: 'events' | 'audit_log'): Promise<number> =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

  const settled = (): Promise<void> => auditCaughtUp(sut, pool);

  /**
   * rebuild('audit-log'), then settle. ProjectionRunner.rebuild stops replaying at the first batch
   * that returns 0 — also when its try-lock loses to this app's own poll-woken runner, which then
   * finishes the replay a moment later. Seen: rebuild() resolved with audit_log still empty.
   */
  async function rebuild(): Promise<void> {
    await sut.app.get(ProjectionsService).rebuild('audit-log');
    await settled();
  }

  async function loadChain(): Promise<ChainEvent[]> {
    const { rows } = await pool.query<{ position: string; transaction_id: string; type: string; stream_id: string }>(
      'SELECT e.global_position AS position, e.transaction_id::text AS transaction_id, e.type, e.stream_id FROM events e ORDER BY e.transaction_id, e.global_position',
    );
    return rows.map((r) => ({ position: Number(r.position), transactionId: r.transaction_id, type: r.type, streamId: r.stream_id }));
  }

  const event = (type: string, key: string): ChainEvent => {
    const found = chain.find((e) => e.type === type && e.streamId === keyStreamId(keys[key].id));
    if (!found) throw new Error(`no ${type} for ${key}`);
    return found;
  };
  const indexOf = (position: number): number => chain.findIndex((e) => e.position === position);

  /** Runs statements as the superuser with the append-only trigger off, in one transaction. */
  async function tamper(...statements: [string, unknown[]?][]): Promise<void> {
    tampered = true;
    await withTriggerOff(pool, 'events', 'events_append_only', statements);
  }

  const verifier = (...args: string[]) => runVerifier(args, { ...process.env, DATABASE_URL: db.url });

  /**
   * Two key.created appends whose transactions interleave: the second draws its xid first but its
   * position last. Chain order (transaction_id, position) then differs from position order.
   */
  async function interleavedAppends(): Promise<void> {
    const store = sut.app.get(EventStore);
    const created = (tenantId: string) => {
      const { key } = ApiKey.create({ keyId: randomUUID(), tenantId, name: 'interleaved', prefix: 'kl_test' }, new Date());
      return { keyId: key.keyId, events: key.pullPendingEvents().map(serializeKeyEvent) };
    };
    const first = created(A);
    const second = created(B);
    const meta = { actor: { type: 'system', id: 'system' }, requestId: 'interleaved' };
    const [early, late]: PoolClient[] = [await pool.connect(), await pool.connect()];
    try {
      await early.query('BEGIN');
      await early.query('SELECT pg_current_xact_id()'); // takes the lower xid now
      await late.query('BEGIN');
      await store.append(keyStreamId(first.keyId), 'no-stream', first.events, meta, { client: late }); // lower position, higher xid
      await store.append(keyStreamId(second.keyId), 'no-stream', second.events, meta, { client: early }); // higher position, lower xid
      await late.query('COMMIT');
      await early.query('COMMIT');
    } finally {
      early.release();
      late.release();
    }
    keys.lowPosition = { id: first.keyId };
    keys.highPosition = { id: second.keyId };
  }

  beforeAll(async () => {
    isolated = await openIsolatedApp();
    ({ db, pool, sut, admin } = isolated);
    const create = async (name: string, tenantId: string) => {
      keys[name] = { id: ((await act('post', '/admin/api-keys', { tenantId, name }).expect(201)).body as { id: string }).id };
    };
    await create('a1', A);
    await create('a2', A);
    await create('a3', A);
    await create('b1', B);
    await create('b2', B);
    await act('post', `/admin/api-keys/${keys.a1.id}/rotate`, { gracePeriodSeconds: 30 }).expect(200);
    await act('patch', `/admin/api-keys/${keys.a2.id}`, { name: 'a2, renamed', tags: { team: 'ünïcødé ✓' } }).expect(200);
    await act('post', `/admin/api-keys/${keys.b1.id}/revoke`, { reason: 'compromised, "really"' }).expect(200);
    await act('post', `/admin/api-keys/${keys.a3.id}/expire`).expect(200);
    await interleavedAppends();
    await create('b3', B);
    await act('post', `/admin/api-keys/${keys.b2.id}/rotate`).expect(200);
    await settled();
    chain = await loadChain();
    expect(chain).toHaveLength(1 + 5 + 4 + 2 + 2);
    await pool.query('CREATE TABLE events_backup AS SELECT * FROM events');
    intact = await digest();
  }, SETUP_TIMEOUT);

  afterEach(async () => {
    if (!tampered) return;
    // Put the original events back (and the audit rows, if the test rebuilt them from tampered events).
    await tamper(['DELETE FROM events'], ['INSERT INTO events OVERRIDING SYSTEM VALUE SELECT * FROM events_backup']);
    if (rebuiltAfterTamper) await rebuild();
    tampered = false;
    rebuiltAfterTamper = false;
    const restored = await verify(intact.digest);
    expect(restored).toMatchObject({ ok: true, checkedEvents: chain.length, digest: { matches: true } });
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await isolated?.close();
  }, SETUP_TIMEOUT);

  it(
    'the database refuses UPDATE, DELETE and TRUNCATE on events',
    async () => {
      await expect(pool.query(`UPDATE events SET payload = '{}' WHERE global_position = $1`, [chain[1].position])).rejects.toThrow(
        /append-only/,
      );
      await expect(pool.query('DELETE FROM events WHERE global_position = $1', [chain[1].position])).rejects.toThrow(/append-only/);
      await expect(pool.query('TRUNCATE events')).rejects.toThrow(/append-only/);
      expect(await count('events')).toBe(chain.length);
    },
    TIMEOUT,
  );

  it(
    'an intact chain verifies, and the digest names its head',
    async () => {
      const last = chain[chain.length - 1];
      expect(intact).toMatchObject({ position: last.position, events: chain.length, digest: `${last.position}:${intact.chainHash}` });
      expect(intact.chainHash).toMatch(/^[0-9a-f]{64}$/);
      expect(await verify()).toEqual({ ok: true, checkedEvents: chain.length, headPosition: last.position, chainHash: intact.chainHash });
      expect(await verify(intact.digest)).toEqual({
        ok: true,
        checkedEvents: chain.length,
        headPosition: last.position,
        chainHash: intact.chainHash,
        digest: { position: last.position, chainHash: intact.chainHash, matches: true },
      });
    },
    TIMEOUT,
  );

  it(
    'chain order is (transaction_id, position): interleaved transactions are chained in commit-safe order, not position order',
    async () => {
      const low = event('key.created', 'lowPosition');
      const high = event('key.created', 'highPosition');
      expect(low.position).toBeLessThan(high.position);
      expect(indexOf(high.position)).toBeLessThan(indexOf(low.position));
      const { rows } = await pool.query<{ position: number }>('SELECT position FROM audit_log ORDER BY seq');
      expect(rows.map((r) => Number(r.position))).toEqual(chain.map((e) => e.position));
    },
    TIMEOUT,
  );

  it(
    'digests of earlier points match; a wrong hash, an unknown position or the genesis are judged as such',
    async () => {
      const { rows } = await pool.query<{ position: number; chain_hash: Buffer }>(
        'SELECT position, chain_hash FROM audit_log ORDER BY seq',
      );
      for (const row of [rows[0], rows[5], rows[rows.length - 2]]) {
        const d = `${row.position}:${row.chain_hash.toString('hex')}`;
        expect(await verify(d)).toMatchObject({ ok: true, digest: { position: Number(row.position), matches: true } });
      }
      const wrongHash = await verify(`${rows[5].position}:${'ab'.repeat(32)}`);
      expect(wrongHash).toMatchObject({ ok: false, checkedEvents: chain.length, digest: { matches: false } });
      expect(wrongHash.firstMismatch).toBeUndefined();
      const unknown = await verify(`987654321:${intact.chainHash}`);
      expect(unknown).toMatchObject({
        ok: false,
        digest: { matches: false },
        firstMismatch: { position: 987654321, reason: expect.stringMatching(/does not contain/) },
      });
      expect(await verify(`0:${'0'.repeat(64)}`)).toMatchObject({ ok: true, digest: { position: 0, matches: true } });
    },
    TIMEOUT,
  );

  it(
    'an outside verifier written from docs/audit.md recomputes the same head',
    async () => {
      const { rows } = await pool.query<{ position: number; chain_hash: Buffer }>(
        'SELECT position, chain_hash FROM audit_log ORDER BY seq OFFSET 3 LIMIT 1',
      );
      const hash = rows[0].chain_hash.toString('hex');
      // A digest of an earlier point with its last hex digit changed.
      const wrong = `${rows[0].position}:${hash.slice(0, -1)}${hash.endsWith('0') ? '1' : '0'}`;
      // Read-only child processes: run them side by side.
      const [checked, mismatched] = await Promise.all([verifier(intact.digest), verifier(wrong)]);
      // Its first line is exactly GET /admin/audit/digest's `digest`; the digest given matches.
      expect(checked).toMatchObject({ code: 0, stdout: [intact.digest, `digest ${intact.digest}: matches`] });
      expect(checked.stderr).toContain(`${chain.length} events`);
      expect(mismatched).toMatchObject({ code: 1, stdout: [intact.digest, expect.stringMatching(/DOES NOT MATCH/)] });
    },
    TIMEOUT,
  );

  it(
    'rebuild reproduces every audit row byte for byte, and the chain still verifies',
    async () => {
      const before = (await pool.query('SELECT * FROM audit_log ORDER BY seq')).rows;
      await rebuild();
      const after = (await pool.query('SELECT * FROM audit_log ORDER BY seq')).rows;
      expect(after).toHaveLength(chain.length);
      expect(after).toEqual(before);
      expect(await digest()).toMatchObject({ digest: intact.digest });
      expect(await verify(intact.digest)).toMatchObject({ ok: true, checkedEvents: chain.length, digest: { matches: true } });
    },
    TIMEOUT,
  );

  it(
    'during a rebuild, audit queries answer from the old log at once; the rebuilt one replaces it whole',
    async () => {
      // Hold the replay when it is about to read its first event: the rebuild's transaction has made
      // its new table by then. (Locking the events table instead would also stall the app's own audit
      // runner inside its projection lock, which the rebuild waits for: a race, not a hold.)
      const store = sut.app.get(EventStore);
      const reached = gate();
      const held = gate();
      const original = store.replay.bind(store);
      const replay = jest.spyOn(store, 'replay').mockImplementation(async function* (...args: Parameters<EventStore['replay']>) {
        reached.open();
        await held.opened;
        yield* original(...args);
      });
      let rebuilt: Promise<void> | undefined;
      try {
        rebuilt = sut.app.get(ProjectionsService).rebuild('audit-log');
        await reached.opened;
        // Before: audit_log was emptied in the rebuild's transaction and every query waited for its commit.
        // A bound, not a timing: a query that waits for the held rebuild fails here instead of hanging.
        const res = await get('/admin/audit', { limit: '1000' }).timeout(10_000);
        expect(res.status).toBe(200);
        expect((res.body as { items: unknown[] }).items).toHaveLength(chain.length);
        expect((await get('/admin/audit/digest').timeout(10_000)).body).toMatchObject({ digest: intact.digest });
      } finally {
        held.open();
        replay.mockRestore();
      }
      await rebuilt;
      await settled();
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
      expect(rows[0].n).toBe(chain.length);
      expect(await verify(intact.digest)).toMatchObject({ ok: true, checkedEvents: chain.length, digest: { matches: true } });
    },
    TIMEOUT,
  );

  describe('an edited event is found at its own position', () => {
    const edits: [string, (position: number) => [string, unknown[]]][] = [
      [
        'a tenant in a payload',
        (p) => [`UPDATE events SET payload = jsonb_set(payload, '{tenantId}', '"t-evil"') WHERE global_position = $1`, [p]],
      ],
      [
        'the actor in the metadata',
        (p) => [`UPDATE events SET metadata = jsonb_set(metadata, '{actor,id}', '"someone-else"') WHERE global_position = $1`, [p]],
      ],
      [
        'recorded_at by one millisecond',
        (p) => [`UPDATE events SET recorded_at = recorded_at + interval '1 millisecond' WHERE global_position = $1`, [p]],
      ],
      ['the event id', (p) => ['UPDATE events SET event_id = gen_random_uuid() WHERE global_position = $1', [p]]],
      ['the stream version', (p) => ['UPDATE events SET stream_version = 99 WHERE global_position = $1', [p]]],
      ['the schema version', (p) => ['UPDATE events SET schema_version = 2 WHERE global_position = $1', [p]]],
      [
        'a key order only (jsonb normalizes it: not a change)',
        (p) => [
          `UPDATE events SET payload = (SELECT jsonb_object_agg(k, v) FROM jsonb_each(payload) AS x(k, v)) WHERE global_position = $1`,
          [p],
        ],
      ],
    ];

    it.each(edits)(
      '%s',
      async (name, statement) => {
        const target = event('key.created', 'a2');
        await tamper(statement(target.position));
        const result = await verify();
        if (name.startsWith('a key order only')) {
          expect(result).toMatchObject({ ok: true, checkedEvents: chain.length });
          return;
        }
        expect(result).toMatchObject({
          ok: false,
          checkedEvents: indexOf(target.position),
          headPosition: chain[indexOf(target.position) - 1].position,
          firstMismatch: { position: target.position, reason: expect.stringMatching(/altered/) },
        });
      },
      TIMEOUT,
    );

    it(
      'a digest taken before the edit reports the mismatch',
      async () => {
        const target = event('key.created', 'a2');
        await tamper([
          `UPDATE events SET payload = jsonb_set(payload, '{tenantId}', '"t-evil"') WHERE global_position = $1`,
          [target.position],
        ]);
        expect(await verify(intact.digest)).toMatchObject({
          ok: false,
          firstMismatch: { position: target.position },
          digest: { position: intact.position, chainHash: intact.chainHash, matches: false },
        });
      },
      TIMEOUT,
    );

    it(
      'a rewrite of both tables (edit, then rebuild the audit log) passes verify alone, but not against a digest kept outside',
      async () => {
        const target = event('key.created', 'a2');
        await tamper([
          `UPDATE events SET payload = jsonb_set(payload, '{tenantId}', '"t-evil"') WHERE global_position = $1`,
          [target.position],
        ]);
        rebuiltAfterTamper = true;
        await rebuild();
        expect(await verify()).toMatchObject({ ok: true, checkedEvents: chain.length });
        expect(await verify(intact.digest)).toMatchObject({ ok: false, digest: { matches: false } });
        // The outside verifier agrees with the rewritten tables on the head — only the digest kept
        // outside tells the two chains apart — and it judges an earlier, still intact, point as matching.
        const before = (
          await pool.query<{ position: number; chain_hash: Buffer }>('SELECT position, chain_hash FROM audit_log WHERE seq = 2')
        ).rows[0];
        const earlier = `${before.position}:${before.chain_hash.toString('hex')}`;
        const [outside, outsideEarlier] = await Promise.all([verifier(intact.digest), verifier(earlier)]);
        expect(outside.code).toBe(1);
        expect(outside.stdout).toEqual([(await digest()).digest, expect.stringMatching(/DOES NOT MATCH/)]);
        expect(outside.stdout[0]).not.toBe(intact.digest);
        expect(outsideEarlier).toMatchObject({ code: 0, stdout: [outside.stdout[0], `digest ${earlier}: matches`] });
      },
      TIMEOUT,
    );
  });

  describe('a deleted event is found at its position', () => {
    it.each([
      ['in the middle', () => event('key.rotated', 'a1').position, /missing/],
      ['the first', () => chain[0].position, /missing/],
      ['the last', () => chain[chain.length - 1].position, /no longer has/],
    ])(
      '%s',
      async (_name, positionOf, reason) => {
        const position = positionOf();
        await tamper(['DELETE FROM events WHERE global_position = $1', [position]]);
        expect(await verify()).toMatchObject({
          ok: false,
          checkedEvents: indexOf(position),
          firstMismatch: { position, reason: expect.stringMatching(reason) },
        });
      },
      TIMEOUT,
    );

    it(
      'even when chain order and position order disagree (interleaved transactions)',
      async () => {
        const high = event('key.created', 'highPosition'); // chained before the lower position
        const low = event('key.created', 'lowPosition');
        expect(indexOf(low.position)).toBe(indexOf(high.position) + 1);
        await tamper(['DELETE FROM events WHERE global_position = $1', [high.position]]);
        expect(await verify()).toMatchObject({
          ok: false,
          firstMismatch: { position: high.position, reason: expect.stringMatching(/missing/) },
        });
      },
      TIMEOUT,
    );
  });

  describe('a reordering is found where the recorded order breaks', () => {
    it(
      'two events swap payloads',
      async () => {
        const first = event('key.created', 'a1');
        const second = event('key.created', 'b1');
        expect(indexOf(first.position)).toBeLessThan(indexOf(second.position));
        await tamper([
          `UPDATE events e SET payload = o.payload FROM events o
          WHERE (e.global_position, o.global_position) IN (($1::bigint, $2::bigint), ($2::bigint, $1::bigint))`,
          [first.position, second.position],
        ]);
        expect(await verify()).toMatchObject({
          ok: false,
          firstMismatch: { position: first.position, reason: expect.stringMatching(/altered/) },
        });
      },
      TIMEOUT,
    );

    it(
      "an event's global_position moves",
      async () => {
        const moved = event('key.updated', 'a2');
        await tamper(['UPDATE events SET global_position = DEFAULT WHERE global_position = $1', [moved.position]]);
        const { rows } = await pool.query<{ max: number }>('SELECT max(global_position)::int AS max FROM events');
        expect(rows[0].max).toBeGreaterThan(chain[chain.length - 1].position);
        expect(await verify()).toMatchObject({
          ok: false,
          checkedEvents: indexOf(moved.position),
          firstMismatch: { position: moved.position, reason: expect.stringMatching(/missing|position changed/) },
        });
      },
      TIMEOUT,
    );

    it(
      'two events swap places in the chain order (their transaction ids)',
      async () => {
        const earlier = event('key.created', 'a3');
        const later = event('key.revoked', 'b1');
        expect(earlier.transactionId).not.toBe(later.transactionId);
        await tamper([
          `UPDATE events SET transaction_id = CASE WHEN global_position = $1 THEN $4::xid8 ELSE $3::xid8 END WHERE global_position IN ($1, $2)`,
          [earlier.position, later.position, earlier.transactionId, later.transactionId],
        ]);
        expect(await verify()).toMatchObject({
          ok: false,
          checkedEvents: indexOf(earlier.position),
          firstMismatch: { position: earlier.position, reason: expect.stringMatching(/out of the order/) },
        });
      },
      TIMEOUT,
    );
  });

  it(
    'a forged event slipped into the history is found at its own position',
    async () => {
      const host = event('key.rotated', 'a1');
      tampered = true;
      const { rows } = await pool.query<{ position: number }>(
        `INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, metadata, recorded_at, transaction_id)
       SELECT stream_id, 99, gen_random_uuid(), 'key.revoked', 1, jsonb_build_object('reason', 'forged', 'occurredAt', payload->>'occurredAt'),
              metadata, recorded_at, transaction_id
       FROM events WHERE global_position = $1
       RETURNING global_position::int AS position`,
        [host.position],
      );
      const forged = rows[0].position;
      expect(await verify()).toMatchObject({
        ok: false,
        checkedEvents: indexOf(host.position) + 1,
        firstMismatch: { position: forged, reason: expect.stringMatching(/never recorded/) },
      });
    },
    TIMEOUT,
  );
});
