import type { Pool } from 'pg';
import type { KeyReplica, KeyVerifier } from '@keyledger/nestjs';
import type { EventNotifications } from '../../src/event-store/index.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { jest } from '@jest/globals';
import { gate } from '../support/test-hooks.js';
import { codeOn, inParallel, revokeOver, untilCodes, verifierOf, whoami } from './guard-helpers.js';
import { expectErrorShape } from '../support/http.js';
import { issueUsableKey } from '../support/keys.js';
import { until } from '../support/poll.js';

/** The verifier's LISTEN connection (private): the tests hold its reconnect back. */
const notificationsOf = (verifier: KeyVerifier): EventNotifications =>
  (verifier as unknown as { notifications: EventNotifications }).notifications;

/**
 * Hard case 13: B's LISTEN connection is terminated while keys are revoked through A. Whatever was
 * notified meanwhile is lost; B must end consistent after it reconnects and resyncs.
 */
describe('guard replica across a lost LISTEN connection', () => {
  let a: TestApp;
  let b: TestApp;
  let pool: Pool;
  let admin: string;

  beforeAll(async () => {
    // B's periodic resync is out of the way (an hour): only its reconnect resync may repair it.
    [a, b] = await Promise.all([createTestApp(), createTestApp({ REPLICA_RESYNC_MS: '3600000' })]);
    pool = testPool(2);
    admin = (await issueUsableKey(a, { scopes: ['admin'] })).token;
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), pool?.end()]);
  });

  /** `n` keys of one tenant, each accepted by B. */
  async function keysOnB(n: number): Promise<{ id: string; token: string }[]> {
    const tenantId = `t-reconnect-${n}-${Date.now()}`;
    const keys = await Promise.all(Array.from({ length: n }, () => issueKey(a.app, { tenantId })));
    await untilCodes(
      b,
      keys.map((k) => k.token),
      'VALID',
    );
    return keys;
  }

  /** Terminates B's LISTEN connection from another session, and waits until B has noticed. */
  async function killListenConnection(sut: TestApp): Promise<void> {
    const verifier = verifierOf(sut);
    const pid = await verifier.listenBackendPid();
    expect(pid).toEqual(expect.any(Number));
    const { rows } = await pool.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
    expect(rows[0].ok).toBe(true);
    await until(
      'B to notice the lost LISTEN connection',
      () => verifier.status().listening,
      (listening) => !listening,
    );
  }

  it('ends consistent when keys are revoked while it is disconnected and as it reconnects', async () => {
    const keys = await keysOnB(30);
    const [whileDown, whileReconnecting, kept] = [keys.slice(0, 10), keys.slice(10, 20), keys.slice(20)];
    const verifier = verifierOf(b);
    const reconnectsBefore = verifier.status().reconnects;
    // Hold B's reconnect back until the first revokes have committed, so they surely happen while it is down.
    const reconnect = gate();
    const notifications = notificationsOf(verifier) as unknown as { connect: () => Promise<void> };
    const connect = notifications.connect.bind(notifications);
    const held = jest.spyOn(notifications, 'connect').mockImplementation(async () => {
      await reconnect.opened;
      return connect();
    });
    try {
      await killListenConnection(b);

      await inParallel(whileDown, 5, (k) => revokeOver(a, admin, k.id));
      await verifier.settled();
      // Their notifications were lost: without a resync B would accept these revoked keys forever.
      expect(whileDown.map((k) => codeOn(b, k.token))).toEqual(whileDown.map(() => 'VALID'));

      reconnect.open();
      await inParallel(whileReconnecting, 5, (k) => revokeOver(a, admin, k.id));
      await until(
        'B to reconnect',
        () => verifier.status(),
        (s) => s.listening && s.reconnects > reconnectsBefore,
      );
    } finally {
      reconnect.open();
      held.mockRestore();
    }

    await untilCodes(
      b,
      [...whileDown, ...whileReconnecting].map((k) => k.token),
      'REVOKED',
    );
    expect(kept.map((k) => codeOn(b, k.token))).toEqual(kept.map(() => 'VALID'));
    expectErrorShape(await whoami(b, whileDown[0].token), 401, 'AUTH.REVOKED');
    expectErrorShape(await whoami(b, whileReconnecting[0].token), 401, 'AUTH.REVOKED');
    await whoami(b, kept[0].token).expect(200);
    expect(b.logs.join('\n')).toContain('LISTEN connection lost');
  });

  it('ends consistent when revokes race its real reconnect, and keeps following NOTIFY afterwards', async () => {
    const keys = await keysOnB(24);
    const [revoked, kept] = [keys.slice(0, 16), keys.slice(16)];
    const verifier = verifierOf(b);
    const reconnectsBefore = verifier.status().reconnects;

    await killListenConnection(b);
    // No hold this time: some revokes land while B is down, some while it reconnects, some after.
    await inParallel(revoked, 4, (k) => revokeOver(a, admin, k.id));
    await until(
      'B to reconnect',
      () => verifier.status(),
      (s) => s.listening && s.reconnects > reconnectsBefore,
    );

    await untilCodes(
      b,
      revoked.map((k) => k.token),
      'REVOKED',
    );
    expect(kept.map((k) => codeOn(b, k.token))).toEqual(kept.map(() => 'VALID'));

    // The new LISTEN connection works: a later revoke arrives by NOTIFY alone.
    await revokeOver(a, admin, kept[0].id);
    await untilCodes(b, [kept[0].token], 'REVOKED');
    expect(await verifier.listenBackendPid()).toEqual(expect.any(Number));
  });

  it('survives two terminations in a row', async () => {
    const keys = await keysOnB(6);
    const verifier = verifierOf(b);
    const reconnectsBefore = verifier.status().reconnects;

    await killListenConnection(b);
    await revokeOver(a, admin, keys[0].id);
    await until(
      'B to reconnect',
      () => verifier.status(),
      (s) => s.listening && s.reconnects > reconnectsBefore,
    );
    await killListenConnection(b);
    await revokeOver(a, admin, keys[1].id);
    await until(
      'B to reconnect again',
      () => verifier.status(),
      (s) => s.listening && s.reconnects > reconnectsBefore + 1,
    );

    await untilCodes(b, [keys[0].token, keys[1].token], 'REVOKED');
    expect(keys.slice(2).map((k) => codeOn(b, k.token))).toEqual(keys.slice(2).map(() => 'VALID'));
  });

  it('ignores malformed notifications on its channel (any role may NOTIFY) and keeps applying real ones', async () => {
    const [key] = await keysOnB(1);
    const verifier = verifierOf(b);
    const before = verifier.status();
    for (const payload of ['not json', '{"s": 5}', 'null', '[]', '"key-x"', '{"p": 1, "s": "key-x"}', 'x'.repeat(7000)]) {
      await pool.query(`SELECT pg_notify('keyledger_events', $1)`, [payload]);
    }

    await revokeOver(a, admin, key.id);

    await untilCodes(b, [key.token], 'REVOKED');
    expect(verifier.status()).toMatchObject({ listening: true, reconnects: before.reconnects });
    expect(b.logs.join('\n')).toContain('ignored a malformed notification on keyledger_events');
  });

  describe('with a short periodic resync (REPLICA_RESYNC_MS=150)', () => {
    let c: TestApp;
    beforeAll(async () => {
      c = await createTestApp({ REPLICA_RESYNC_MS: '150' });
    });
    afterAll(() => c?.close());

    it('repairs a replica that missed a notification, by the periodic resync alone', async () => {
      // C must hold the key through its NOTIFY (verify() makes no lookup), with no refresh still
      // running: a refresh begun before the patch below would read the row after the revoke.
      const key = await issueKey(a.app);
      const verifier = verifierOf(c);
      await untilCodes(c, [key.token], 'VALID');
      await verifier.settled();
      const replica: KeyReplica = verifier.replica;
      const reconnectsBefore = verifier.status().reconnects;
      // C receives the NOTIFY but drops it (a lost notification), and its resyncs wait until we allow them.
      const dropped: string[] = [];
      const resyncs = gate();
      let resyncCalls = 0;
      let resyncsRun = 0;
      const refresh = jest.spyOn(replica, 'refresh').mockImplementation((keyIds: readonly string[]) => {
        dropped.push(...keyIds);
        return Promise.resolve();
      });
      const resync = replica.resync.bind(replica);
      const heldResync = jest.spyOn(replica, 'resync').mockImplementation(async () => {
        resyncCalls++;
        await resyncs.opened;
        resyncsRun++;
        return resync();
      });
      try {
        // Once a gated resync is waiting, none that began before the patch can still read the revoke.
        await until(
          'a periodic resync to be held',
          () => resyncCalls,
          (n) => n > 0,
        );
        await revokeOver(a, admin, key.id);
        await until('C to be notified of the revoke', () => dropped.includes(key.id), Boolean);
        await verifier.settled();
        expect(codeOn(c, key.token)).toBe('VALID'); // stale: the only notification was lost

        resyncs.open();
        await untilCodes(c, [key.token], 'REVOKED', 3000);
      } finally {
        resyncs.open();
        refresh.mockRestore();
        heldResync.mockRestore();
      }
      expect(resyncsRun).toBeGreaterThan(0);
      expect(verifier.status().reconnects).toBe(reconnectsBefore); // no reconnect helped: the timer did it
      expectErrorShape(await whoami(c, key.token), 401, 'AUTH.REVOKED');
    });
  });
});
