import request from 'supertest';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testDatabaseUrl } from '../support/test-database.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { verifierOf, whoami } from './guard-helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';

/**
 * A guard cut off from the registry's database (docs/guard.md, "A guard cut off from the
 * registry"): its replica is stale from the moment its LISTEN connection drops. Past
 * maxStalenessMs it fails closed with 503 AUTH.UNAVAILABLE (never later); with onStale 'serve' it
 * keeps answering from what it last knew. Once the connection is back it resyncs and applies
 * what it missed. The outage is real: a TCP proxy in front of PostgreSQL, cut and restored.
 */
const BOUND_MS = 1500;
/** Timers and the event loop of a busy 2-core machine: how late "at the bound" may be seen. */
const SLACK_MS = 400;
/** LISTEN reconnects with backoff capped at 5 s, then resyncs. */
const RECOVERY_MS = 10_000;

describe('a guard cut off from the registry database', () => {
  let registry: TestApp;
  let admin: string;

  beforeAll(async () => {
    registry = await createTestApp();
    admin = (await issueKey(registry.app, { scopes: ['admin'] })).token;
  });
  afterAll(() => registry?.close());

  /**
   * Runs `fn` against a second instance whose every database connection goes through a TCP proxy
   * the test can cut, with a key that instance has already verified once.
   */
  async function behindProxy(
    onStale: 'fail' | 'serve',
    fn: (guard: TestApp, proxy: TcpProxy, key: { id: string; token: string }) => Promise<void>,
  ): Promise<void> {
    const proxy = await TcpProxy.start(testDatabaseUrl());
    const guard = await createTestApp(
      {
        GUARD_MAX_STALENESS_MS: String(BOUND_MS),
        GUARD_ON_STALE: onStale,
        ASYNC_PROJECTIONS_ENABLED: 'false',
        EXPIRY_SWEEP_ENABLED: 'false',
      },
      proxy.urlFor(testDatabaseUrl()),
    );
    try {
      const key = await issueKey(registry.app, { scopes: ['reports:read'] });
      await whoami(guard, key.token).expect(200);
      await fn(guard, proxy, key);
    } finally {
      await proxy.restore();
      await guard.close();
      await proxy.cut();
    }
  }

  /** Polls `check` every 25 ms until it holds; returns when (ms since `from`), or fails after `within`. */
  async function whenHolds(check: () => Promise<boolean> | boolean, from: number, within: number): Promise<number> {
    for (;;) {
      if (await check()) return Date.now() - from;
      if (Date.now() - from > within) throw new Error(`not within ${within} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('fails closed with 503 AUTH.UNAVAILABLE once maxStalenessMs has passed, never later, and applies the revocation after the reconnect', async () => {
    await behindProxy('fail', async (guard, proxy, key) => {
      await proxy.cut();
      const cutAt = Date.now();
      await request(registry.url).post(`/admin/api-keys/${key.id}/revoke`).set(bearer(admin)).send({ reason: 'leaked' }).expect(200);

      // Before the bound the guard cannot know of the revocation: it serves what it last knew. Each
      // probe is stamped when it was sent: a slow answer under load must not read as a late decision.
      const probes: { sentAfter: number; status: number }[] = [];
      await whenHolds(
        async () => {
          const sentAfter = Date.now() - cutAt;
          const { status } = await whoami(guard, key.token);
          probes.push({ sentAfter, status });
          return sentAfter > BOUND_MS + SLACK_MS;
        },
        cutAt,
        BOUND_MS + 4 * SLACK_MS,
      );
      const early = probes.filter((p) => p.sentAfter < BOUND_MS - 50).map((p) => p.status);
      const late = probes.filter((p) => p.sentAfter > BOUND_MS + SLACK_MS).map((p) => p.status);
      expect(new Set(early)).toEqual(new Set([200])); // not closed before the bound
      expect(new Set(late)).toEqual(new Set([503])); // and never later than it

      const refused = await whoami(guard, key.token);
      expectErrorShape(refused, 503, 'AUTH.UNAVAILABLE');
      expect(refused.headers['retry-after']).toBe('5');
      // Every key, not only the revoked one: the guard cannot tell which ones changed.
      expectErrorShape(await whoami(guard, admin), 503, 'AUTH.UNAVAILABLE');
      expect(verifierOf(guard).status()).toMatchObject({ failingClosed: true, listening: false });
      expect(verifierOf(guard).status().staleForMs).toBeGreaterThanOrEqual(BOUND_MS);
      const metrics = await fetch(guard.metricsUrl);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^keyledger_replica_failing_closed 1$/m);

      await proxy.restore();
      await whenHolds(() => verifierOf(guard).status().staleForMs === 0, Date.now(), RECOVERY_MS);
      expectErrorShape(await whoami(guard, key.token), 401, 'AUTH.REVOKED');
      await whoami(guard, admin).expect(200);
      expect(verifierOf(guard).status()).toMatchObject({ failingClosed: false, staleForMs: 0, listening: true });
    });
  }, 60_000);

  it("with onStale 'serve' keeps serving from what it last knew, and applies the revocation after the reconnect", async () => {
    await behindProxy('serve', async (guard, proxy, key) => {
      await proxy.cut();
      const cutAt = Date.now();
      await request(registry.url).post(`/admin/api-keys/${key.id}/revoke`).set(bearer(admin)).send({}).expect(200);
      await whenHolds(() => verifierOf(guard).status().staleForMs > BOUND_MS + SLACK_MS, cutAt, BOUND_MS + 2 * SLACK_MS);
      // The documented trade-off: availability over a revocation it cannot have heard of.
      await whoami(guard, key.token).expect(200);
      expect(verifierOf(guard).status().failingClosed).toBe(false);

      await proxy.restore();
      await whenHolds(() => verifierOf(guard).status().staleForMs === 0, Date.now(), RECOVERY_MS);
      expect(verifierOf(guard).status().listening).toBe(true);
      expectErrorShape(await whoami(guard, key.token), 401, 'AUTH.REVOKED');
    });
  }, 60_000);
});
