import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';
import { loadConfig } from '../../src/config/index.js';
import { configureApp, createFastifyAdapter } from '../../src/configure-app.js';
import { generateToken } from '../../src/token/index.js';
import { createLogger, MetricsServer, PinoLoggerService } from '../../src/observability/index.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { issueKey, TEST_PEPPER } from '../support/test-app.js';
import { testDatabaseUrl } from '../support/test-database.js';
import { bearer } from '../support/http.js';

/** The app exactly as main.ts builds it, with its JSON log stream captured. */
async function appWithCapturedLogs(): Promise<{
  app: NestFastifyApplication;
  url: string;
  metricsUrl: string;
  output: () => string;
  close(): Promise<void>;
}> {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const dataDir = makeTestTempDir();
  const config = loadConfig({
    DATA_DIR: dataDir,
    METRICS_PORT: '0',
    KEY_PEPPER: TEST_PEPPER,
    RUN_MIGRATIONS: 'false',
    BOOTSTRAP_ADMIN: 'false',
    LOG_LEVEL: 'verbose',
  });
  const pino = createLogger(config.logLevel, destination);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, testDatabaseUrl()), createFastifyAdapter(pino), {
    logger: new PinoLoggerService(pino),
  });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const close = async (): Promise<void> => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { app, url: `http://127.0.0.1:${port}`, metricsUrl: app.get(MetricsServer).url() ?? '', output: () => chunks.join(''), close };
}

describe('observability', () => {
  let sut: Awaited<ReturnType<typeof appWithCapturedLogs>>;
  beforeAll(async () => {
    sut = await appWithCapturedLogs();
  });
  afterAll(() => sut.close());

  it('serves Prometheus metrics for verifications, commands, events, projections, the replica and LISTEN', async () => {
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    await request(sut.url).get('/examples/whoami').set('x-api-key', admin.token).expect(200);
    await request(sut.url).post('/admin/api-keys').set('x-api-key', admin.token).send({ tenantId: 'metrics', name: 'm' }).expect(201);
    await request(sut.url).get('/examples/whoami').set('x-api-key', 'kl_live_not_a_key').expect(401);
    // The latency histogram samples one verification in 128.
    for (let i = 0; i < 128; i++) await request(sut.url).get('/examples/whoami').set('x-api-key', admin.token).expect(200);

    const res = await fetch(sut.metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    for (const line of [
      /^keyledger_verifications_total\{code="VALID"\} [1-9]/m,
      /^keyledger_verifications_total\{code="MALFORMED"\} [1-9]/m,
      /^keyledger_verification_duration_seconds_count [1-9]/m,
      /^keyledger_commands_total\{command="create",outcome="ok"\} [1-9]/m,
      /^keyledger_events_appended_total [1-9]/m,
      /^keyledger_projection_lag_events\{projection="audit-log"\} \d+/m,
      /^keyledger_projection_halted\{projection="audit-log"\} 0/m,
      /^keyledger_replica_keys [1-9]/m,
      /^keyledger_listen_reconnects\{connection="replica"\} \d+/m,
      /^keyledger_listen_connected\{connection="replica"\} 1/m,
    ]) {
      expect(text).toMatch(line);
    }
  });

  it('serves /metrics on its own loopback listener only: the API listener answers 404, with or without a key', async () => {
    expect(sut.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(sut.metricsUrl).port).not.toBe(new URL(sut.url).port);
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    for (const res of [await request(sut.url).get('/metrics'), await request(sut.url).get('/metrics').set('x-api-key', admin.token)]) {
      expect(res.status).toBe(404);
      expect(res.text).not.toContain('keyledger_');
    }
    const metrics = new URL(sut.metricsUrl);
    const other = await fetch(new URL('/health', metrics));
    expect([other.status, await other.json()]).toEqual([404, { statusCode: 404, code: 'NOT_FOUND', message: expect.any(String) }]);
    const posted = await fetch(metrics, { method: 'POST' });
    expect([posted.status, posted.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    await posted.arrayBuffer();
  });

  it.each([
    ['no x-request-id', undefined],
    ['a well-formed x-request-id', 'req-one-id-1'],
    ['a malformed x-request-id', 'has spaces; and "quotes"'],
    ['a 129-character x-request-id', 'r'.repeat(129)],
    ['a key-shaped x-request-id', generateToken().token],
  ])("gives a request with %s one id: the log lines' reqId, the event's requestId and the x-request-id header", async (_, sent) => {
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    const create = request(sut.url).post('/admin/api-keys').set('x-api-key', admin.token);
    const created = await (sent === undefined ? create : create.set('x-request-id', sent))
      .send({ tenantId: 'one-id', name: 'one id' })
      .expect(201);
    const id = created.headers['x-request-id'];
    if (sent === 'req-one-id-1') expect(id).toBe(sent);
    else expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/); // made by the server, nothing echoed

    const events = await request(sut.url).get(`/admin/api-keys/${created.body.id}/events`).set('x-api-key', admin.token).expect(200);
    expect((events.body.items as { requestId: string }[]).map((e) => e.requestId)).toEqual([id]);
    const lines = sut
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reqId?: string; msg?: string; req?: { method: string; url: string }; res?: { statusCode: number } });
    const ofRequest = lines.filter((l) => l.reqId === id);
    expect(ofRequest.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
    expect(ofRequest[0].req).toMatchObject({ method: 'POST', url: '/admin/api-keys' });
    expect(ofRequest[1].res).toMatchObject({ statusCode: 201 });
    if (sent !== undefined && sent !== 'req-one-id-1') expect(sut.output()).not.toContain(sent);
  });

  it('splits health into liveness and readiness', async () => {
    await request(sut.url).get('/health/live').expect(200, { status: 'ok' });
    const ready = await request(sut.url).get('/health/ready').expect(200);
    expect(ready.body).toEqual({ status: 'ready', reasons: [] });
  });

  it('writes JSON logs with the request id, and no key from any header, body, query or error reaches them', async () => {
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    const verifier = await issueKey(sut.app, { scopes: ['keys:verify', 'keys:verify:all-tenants'] });
    const victim = await issueKey(sut.app, {});
    await request(sut.url).get('/examples/whoami').set('x-api-key', verifier.token).expect(200);
    await request(sut.url).get('/examples/whoami').set(bearer(admin.token)).set('x-request-id', 'req-logs-1').expect(200);
    await request(sut.url).post('/v1/keys/verify').set('x-api-key', verifier.token).send({ key: victim.token }).expect(200);
    await request(sut.url).get(`/examples/whoami?key=${victim.token}`).expect(401);
    await request(sut.url).get(`/no-such-route/${victim.token}`).expect(404);
    await request(sut.url)
      .post('/admin/api-keys')
      .set('x-api-key', admin.token)
      .send({ tenantId: 'logs', name: victim.token, bogus: victim.token })
      .expect(400);

    const logs = sut.output();
    const lines = logs
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.reqId === 'req-logs-1')).toBe(true);
    expect(logs).toContain('[redacted key]');
    for (const token of [admin.token, verifier.token, victim.token]) {
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(token.slice(-34)); // the secret part alone
    }
  });
});
