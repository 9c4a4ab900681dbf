import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';
import { loadConfig } from '../../src/config/config.js';
import { configureApp, createFastifyAdapter } from '../../src/configure-app.js';
import { createLogger, PinoLoggerService } from '../../src/observability/index.js';
import { issueKey, TEST_PEPPER } from '../support/test-app.js';
import { testDatabaseUrl } from '../support/test-database.js';

/** The app exactly as main.ts builds it, with its JSON log stream captured. */
async function appWithCapturedLogs(): Promise<{ app: NestFastifyApplication; url: string; output: () => string }> {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const config = loadConfig({
    DATA_DIR: mkdtempSync(join(tmpdir(), 'keyledger-test-')),
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
  return { app, url: `http://127.0.0.1:${port}`, output: () => chunks.join('') };
}

describe('observability', () => {
  let sut: Awaited<ReturnType<typeof appWithCapturedLogs>>;
  beforeAll(async () => {
    sut = await appWithCapturedLogs();
  });
  afterAll(() => sut.app.close());

  it('serves Prometheus metrics for verifications, commands, events, projections, the replica and LISTEN', async () => {
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    await request(sut.url).get('/examples/whoami').set('x-api-key', admin.token).expect(200);
    await request(sut.url).post('/admin/api-keys').set('x-api-key', admin.token).send({ tenantId: 'metrics', name: 'm' }).expect(201);
    await request(sut.url).get('/examples/whoami').set('x-api-key', 'kl_live_not_a_key').expect(401);
    // The latency histogram samples one verification in 128.
    for (let i = 0; i < 128; i++) await request(sut.url).get('/examples/whoami').set('x-api-key', admin.token).expect(200);

    const res = await request(sut.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
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
      expect(res.text).toMatch(line);
    }
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
    await request(sut.url).get('/examples/whoami').set('authorization', `Bearer ${admin.token}`).set('x-request-id', 'req-logs-1').expect(200);
    await request(sut.url).post('/v1/keys/verify').set('x-api-key', verifier.token).send({ key: victim.token }).expect(200);
    await request(sut.url).get(`/examples/whoami?key=${victim.token}`).expect(401);
    await request(sut.url).get(`/no-such-route/${victim.token}`).expect(404);
    await request(sut.url).post('/admin/api-keys').set('x-api-key', admin.token).send({ tenantId: 'logs', name: victim.token, bogus: victim.token }).expect(400);

    const logs = sut.output();
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.reqId === 'req-logs-1')).toBe(true);
    expect(logs).toContain('[redacted key]');
    for (const token of [admin.token, verifier.token, victim.token]) {
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(token.slice(-34)); // the secret part alone
    }
  });
});
