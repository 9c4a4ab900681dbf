import type { Pool } from 'pg';
import { KeyReplica } from '@keyledger/nestjs';
import { EventStore } from '../../src/event-store/index.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { jest } from '@jest/globals';
import { codeOn, inParallel, revokeOver, untilCodes, verifierOf, whoami } from './guard-helpers.js';
import { expectErrorShape } from '../support/http.js';
import { issueUsableKey } from '../support/keys.js';

type Key = { id: string; token: string };
type AnyFunction = (...args: unknown[]) => unknown;

/** The start-up load's first statement in its REPEATABLE READ transaction: its snapshot is taken here. */
const TAKES_SNAPSHOT = /pg_snapshot_xmin/;

/**
 * `target` (a pg Pool, or a client it hands out), with `after(sql)` awaited after each query
 * resolves: how a test pauses a replica's start-up load at a chosen statement, whatever its SQL.
 * A streaming query (COPY, a Submittable) is handed back as it is.
 */
function intercepting<T extends object>(target: T, after: (sql: string) => Promise<void>): T {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as AnyFunction;
      if (prop === 'query') {
        return (...args: unknown[]) => {
          const query = args[0] as { text?: unknown; submit?: unknown } | string | undefined;
          if (typeof query === 'object' && typeof query.submit === 'function') return fn.apply(t, args);
          const text = typeof query === 'string' ? query : query?.text;
          return (async () => {
            const result = await fn.apply(t, args);
            await after(typeof text === 'string' ? text : '');
            return result;
          })();
        };
      }
      if (prop === 'connect') return async (...args: unknown[]) => intercepting((await fn.apply(t, args)) as object, after);
      return fn.bind(t);
    },
  });
}

/**
 * Revokes that race a replica's start-up load, or a resync, must never leave a revoked key valid
 * once the load or resync is over. The replica LISTENs before it loads and applies rows by version,
 * so a change is either in the rows it reads or in a notification (or both, harmlessly).
 */
describe('guard replica start-up and resync races', () => {
  let a: TestApp;
  let pool: Pool;
  let admin: string;
  const started: TestApp[] = [];

  beforeAll(async () => {
    a = await createTestApp();
    pool = testPool(3);
    admin = (await issueUsableKey(a, { scopes: ['admin'] })).token;
  });
  afterAll(async () => {
    await Promise.all([a?.close(), pool?.end(), ...started.map((s) => s.close())]);
  });

  async function startInstance(): Promise<TestApp> {
    const sut = await createTestApp({ REPLICA_RESYNC_MS: '3600000' }); // no periodic resync to paper over a miss
    started.push(sut);
    return sut;
  }

  const issueMany = (n: number): Promise<Key[]> => {
    const tenantId = `t-race-${Date.now()}-${n}`;
    return Promise.all(Array.from({ length: n }, () => issueKey(a.app, { tenantId })));
  };

  /**
   * Waits until `sut` has applied every notification for changes A committed before now: a fresh
   * key written after `sut` finished loading can only reach it by NOTIFY, and A's notifications
   * arrive in the order A committed, so once it is applied (and `settled()`), so is all before it.
   */
  async function drained(sut: TestApp): Promise<void> {
    const marker = await issueKey(a.app, {});
    await untilCodes(sut, [marker.token], 'VALID');
    await verifierOf(sut).settled();
  }

  /** Asserts, with no waiting, that `sut` refuses every revoked key and accepts every other. */
  function expectConsistent(sut: TestApp, revoked: readonly Key[], kept: readonly Key[]): void {
    expect(revoked.filter((k) => codeOn(sut, k.token) !== 'REVOKED').map((k) => k.id)).toEqual([]);
    expect(kept.filter((k) => codeOn(sut, k.token) !== 'VALID').map((k) => k.id)).toEqual([]);
  }

  it('refuses keys revoked in the middle of its start-up load', async () => {
    const keys = await issueMany(40);
    const [revoked, kept] = [keys.slice(0, 20), keys.slice(20)];
    let snapshots = 0;

    // B's load takes its snapshot, then waits while A revokes: its COPY then reads these keys as
    // they were (active). The replica must still end up refusing them: it LISTENs before it loads.
    const originalLoad = Object.getOwnPropertyDescriptor(KeyReplica.prototype, 'load')!.value as KeyReplica['load'];
    KeyReplica.prototype.load = async function (this: KeyReplica, progressEvery?: number, onProgress?: (n: number) => void) {
      const self = this as unknown as { pool: object };
      const replicaPool = self.pool;
      self.pool = intercepting(replicaPool, async (text) => {
        if (!TAKES_SNAPSHOT.test(text)) return;
        snapshots++;
        if (snapshots === 1) await inParallel(revoked, 5, (k) => revokeOver(a, admin, k.id));
      });
      try {
        return await originalLoad.call(this, progressEvery, onProgress);
      } finally {
        self.pool = replicaPool;
      }
    };
    let b: TestApp;
    try {
      b = await startInstance();
    } finally {
      KeyReplica.prototype.load = originalLoad;
    }
    expect(snapshots).toBe(1); // it did pause mid-load, after taking its snapshot

    await verifierOf(b).settled();
    await drained(b);
    expectConsistent(b, revoked, kept);
    expectErrorShape(await whoami(b, revoked[0].token), 401, 'AUTH.REVOKED');
  });

  it('refuses every key revoked while it starts (revokes racing its whole start-up)', async () => {
    const keys = await issueMany(120);
    const queue = [...keys];
    const revoked: Key[] = [];
    let up = false;
    let afterUp = 0;
    // Revoke one key after another from before B starts until a few after it is up.
    const revoking = inParallel([1, 2, 3, 4], 4, async () => {
      while (queue.length > 0 && (!up || afterUp < 8)) {
        const k = queue.shift()!;
        await revokeOver(a, admin, k.id);
        revoked.push(k);
        if (up) afterUp++;
      }
    });
    const b = await startInstance();
    up = true;
    await revoking;

    expect(revoked.length).toBeGreaterThan(8);
    expect(queue.length).toBeGreaterThan(0);
    await verifierOf(b).settled();
    await drained(b);
    expectConsistent(b, revoked, queue);
  });

  describe('resyncs (the only path when notifications are lost)', () => {
    let b: TestApp;
    let dropping: { mockRestore(): void } | undefined;

    beforeAll(async () => {
      b = await startInstance();
    });
    afterEach(() => dropping?.mockRestore());

    /** From here on B drops every notification: only resyncs update it. */
    function dropNotifications(): void {
      dropping = jest.spyOn(verifierOf(b).replica, 'refresh').mockImplementation(() => Promise.resolve());
    }

    it('never skips a revoke whose transaction began before a resync and committed after a later one', async () => {
      const [slow, fast] = [await issueUsableKey(a, {}, { on: b }), await issueUsableKey(a, {}, { on: b })];
      dropNotifications();
      const verifier = verifierOf(b);
      const store = a.app.get(EventStore);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // The slow revoke: its event and api_keys row are written in a transaction that stays open.
        await store.append(
          `key-${slow.id}`,
          1,
          [{ type: 'key.revoked', schemaVersion: 1, payload: { reason: 'slow transaction', occurredAt: new Date().toISOString() } }],
          { actor: { type: 'system', id: 'system' }, requestId: 'slow-revoke' },
          { client },
        );
        // A later transaction commits first (hard case 3): a resync must not move past the slow one.
        await revokeOver(a, admin, fast.id);
        await verifier.resync('test, during the slow transaction');
        expect(codeOn(b, fast.token)).toBe('REVOKED');
        expect(codeOn(b, slow.token)).toBe('VALID'); // not committed yet

        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }

      await verifier.resync('test, after the commit');
      expect(codeOn(b, slow.token)).toBe('REVOKED');
    });

    it('ends consistent when revokes commit while overlapping resyncs run', async () => {
      const keys = await issueMany(40);
      await untilCodes(
        b,
        keys.map((k) => k.token),
        'VALID',
      );
      dropNotifications();
      const verifier = verifierOf(b);
      const [revoked, kept] = [keys.slice(0, 25), keys.slice(25)];

      let revoking = true;
      const resyncing = (async () => {
        // Two resyncs at a time, back to back, for as long as revokes are being committed.
        while (revoking) await Promise.all([verifier.resync('test'), verifier.resync('test')]);
      })();
      try {
        await inParallel(revoked, 5, (k) => revokeOver(a, admin, k.id));
      } finally {
        revoking = false;
        await resyncing;
      }

      await verifier.resync('test, after the last commit');
      expectConsistent(b, revoked, kept);
    });
  });
});
