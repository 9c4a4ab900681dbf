import { Pool } from 'pg';
import { generateToken } from '../../src/token/index.js';
import { startAppProcess, type AppProcess } from '../support/app-process.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createTestApp, issueKey } from '../support/test-app.js';
import { createScratchDatabase, testPool, type ScratchDatabase } from '../support/test-database.js';
import { until } from '../support/poll.js';
import { uniqueTenant } from '../support/keys.js';

/** The background tasks' backoff cap (docs/operations.md): a task retries at most this long after the database is back. */
const BACKOFF_CAP_MS = 5_000;
/** The outage lasts at least this long, while the sweeper (every 100 ms), the projection poll (200 ms) and the replica resync (500 ms) keep failing. */
const OUTAGE_MS = 3_000;

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

/**
 * The real server, started as a user starts it, reaches PostgreSQL only through a TCP proxy the
 * test cuts (every connection destroyed, new ones refused) and restores: the outage a user meets.
 */
describe('losing the database (a real outage, through a TCP proxy)', () => {
  let admin: Pool;
  let database: ScratchDatabase;
  let pool: Pool;
  let proxy: TcpProxy;
  let started: AppProcess | undefined;
  beforeAll(async () => {
    // A database of its own: no other test's instance may run its projection or sweep its keys.
    admin = testPool(1);
    database = await createScratchDatabase('outage');
    pool = new Pool({ connectionString: database.url, max: 2 });
    proxy = await TcpProxy.start(database.url);
  });
  afterAll(async () => {
    await started?.stop();
    await proxy?.cut();
    await pool?.end();
    await database?.drop();
    await admin?.end();
  });

  async function call(server: AppProcess, method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token ? { 'x-api-key': token } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch(async (error: unknown) => {
      // A server that died is the failure to report, not the request it could no longer answer.
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 1_000))]);
      if (server.exitCode() !== undefined) {
        throw new Error(`the server exited (${server.exitCode()}) during the outage:\n${server.output().slice(-3_000)}`);
      }
      throw error;
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** A 503 a client can act on: the one error shape, Retry-After, and nothing of the database's address or driver. */
  function expectUnavailable(answer: Answer, port: number): void {
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(answer.body).toEqual({
      statusCode: 503,
      code: 'SERVICE_UNAVAILABLE',
      message: expect.stringMatching(/database is unreachable.*retry/i),
    });
    expectNoDatabaseDetails(answer.text, port);
  }

  function expectNoDatabaseDetails(text: string, port: number): void {
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(String(port));
    expect(text).not.toMatch(/ECONN[A-Z]+|EPIPE|ETIMEDOUT|[Tt]erminated|timeout/);
  }

  it('stays up, answers 503 with Retry-After, verifies from memory, and recovers by itself', async () => {
    const issuer = await createTestApp({ EXPIRY_SWEEP_ENABLED: 'false' }, database.url);
    const tenantId = uniqueTenant();
    const operator = await issueKey(issuer.app, { tenantId, scopes: ['admin'] });
    const caller = await issueKey(issuer.app, { tenantId, scopes: ['keys:verify'] });
    const active = await issueKey(issuer.app, { tenantId });
    await issuer.close();

    const proxyPort = Number(new URL(proxy.urlFor(database.url)).port);
    const server = await startAppProcess({
      DATABASE_URL: proxy.urlFor(database.url),
      EXPIRY_SWEEP_ENABLED: 'true',
      EXPIRY_SWEEP_DELAY_MS: '300',
      PROJECTION_POLL_MS: '200',
      REPLICA_RESYNC_MS: '500',
      LOG_LEVEL: 'info',
    });
    started = server;
    const create = (name: string, expiresAt?: string): Promise<Answer> =>
      call(server, 'POST', '/admin/api-keys', operator.token, { tenantId, name, ...(expiresAt ? { expiresAt } : {}) });
    const verify = (token: string): Promise<Answer> => call(server, 'POST', '/v1/keys/verify', caller.token, { key: token });

    expect((await create('before the outage')).status).toBe(201);
    // Expires while the database is away: the guard refuses it at once, the sweeper records it once it is back.
    const expiring = await create('expires during the outage', new Date(Date.now() + 1_000).toISOString());
    expect(expiring.status).toBe(201);
    const expiringId = expiring.body.id as string;
    const expiringToken = expiring.body.key as string;
    // The instance that created it knows it when it answers (docs/guard.md).
    expect((await verify(expiringToken)).body).toMatchObject({ valid: true, code: 'VALID' });

    await proxy.cut();
    const cutAt = Date.now();

    const whileDown: Answer[] = [];
    do {
      const [created, revoked, listed, verified] = await Promise.all([
        create('during the outage'),
        call(server, 'POST', `/admin/api-keys/${active.id}/revoke`, operator.token, { reason: 'outage test' }),
        call(server, 'GET', `/admin/api-keys?tenantId=${tenantId}`, operator.token),
        verify(active.token),
      ]);
      whileDown.push(created, revoked, listed);
      // The guard and /v1/keys/verify answer from memory: a known active key still works.
      expect(verified.status).toBe(200);
      expect(verified.body).toMatchObject({ valid: true, code: 'VALID' });
      expect(server.exitCode()).toBeUndefined();
    } while (Date.now() - cutAt < OUTAGE_MS);
    for (const answer of whileDown) expectUnavailable(answer, proxyPort);

    // Expiry is exact without the database: the clock, not the sweeper, refuses the key.
    expect((await verify(expiringToken)).body).toMatchObject({ valid: false, code: 'EXPIRED' });
    // A key the replica does not know is refused: its database lookup fails, and the refusal stands.
    expect((await verify(generateToken().token)).body).toMatchObject({ valid: false, code: 'NOT_FOUND' });
    expect((await call(server, 'GET', '/examples/whoami', generateToken().token)).status).toBe(401);
    expect((await call(server, 'GET', '/examples/whoami', active.token)).status).toBe(200);

    const health = await call(server, 'GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'down', database: { ok: false } });
    expectNoDatabaseDetails(health.text, proxyPort);
    const ready = await call(server, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'not-ready', reasons: expect.arrayContaining(['database unreachable']) });
    expectNoDatabaseDetails(ready.text, proxyPort);
    expect((await call(server, 'GET', '/health/live')).status).toBe(200);
    expect(server.exitCode()).toBeUndefined();
    // The metrics listener answers with the database gone, and says so.
    const metrics = await fetch(server.metricsUrl);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^keyledger_database_up 0$/m);

    await proxy.restore();

    // Commands work again at once: the pool holds no dead connection.
    const after = await create('after the outage');
    expect(after.status).toBe(201);
    const afterId = after.body.id as string;

    // Within the backoff cap (docs/operations.md), by itself (no resume, no restart): the audit-log
    // projection has caught up, the sweeper has recorded the expiry it could not write meanwhile,
    // and /health is ok again.
    await until(
      'the audit rows, the recorded expiry and an ok /health after the outage',
      async () => {
        const { rows } = await pool.query(
          `SELECT 1 FROM audit_log WHERE (key_id = $1 AND event_type = 'key.created') OR (key_id = $2 AND event_type = 'key.expired')`,
          [afterId, expiringId],
        );
        const health = await call(server, 'GET', '/health');
        return rows.length === 2 && health.status === 200 && health.body.status === 'ok';
      },
      { timeoutMs: BACKOFF_CAP_MS + 1_000 },
    );
    const healthy = await call(server, 'GET', '/health');
    expect(healthy.body.projections).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'audit-log', state: expect.stringMatching(/^(idle|running)$/), lag: 0 })]),
    );

    // One line when the trouble starts and one when it ends, per task: not one per retry.
    const logs = server.output();
    const lines = (pattern: RegExp): number => logs.split('\n').filter((line) => pattern.test(line)).length;
    expect(lines(/expiry sweep failed \(database unreachable/)).toBe(1);
    expect(lines(/expiry sweep works again/)).toBe(1);
    // Per async projection (audit-log, webhook-outbox): one line each way for each runner that met the outage.
    const perProjection = (pattern: RegExp): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const line of logs.split('\n').filter((l) => pattern.test(l))) {
        const name = /"context":"Projection:([^"]+)"/.exec(line)?.[1] ?? '?';
        counts[name] = (counts[name] ?? 0) + 1;
      }
      return counts;
    };
    const failed = perProjection(/projection batch failed \(database unreachable/);
    expect(failed['audit-log']).toBe(1);
    expect(Object.values(failed).every((n) => n === 1)).toBe(true);
    expect(perProjection(/projection batch works again/)).toEqual(failed);
    expect(lines(/replica resync failed/)).toBeLessThanOrEqual(1);
    expect(lines(/LISTEN reconnect failed/)).toBeLessThanOrEqual(2); // the replica's and the projections' LISTEN connections
    expect(logs).not.toMatch(/halted/);

    // And it still shuts down cleanly.
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 120_000);

  it('shuts down cleanly on SIGTERM while the database is away', async () => {
    const server = await startAppProcess({
      DATABASE_URL: proxy.urlFor(database.url),
      EXPIRY_SWEEP_ENABLED: 'true',
      EXPIRY_SWEEP_DELAY_MS: '300',
      PROJECTION_POLL_MS: '200',
    });
    started = server;
    await proxy.cut();
    try {
      // The database is gone for this process: its own probe says so.
      expect((await call(server, 'GET', '/health')).status).toBe(503);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      await proxy.restore();
    }
  }, 60_000);
});
