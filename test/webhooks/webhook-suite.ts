import { Pool } from 'pg';
import request from 'supertest';
import { bearer } from '../support/http.js';
import { issueUsableKey } from '../support/keys.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createScratchDatabase } from '../support/test-database.js';
import { startReceiver, type Receiver } from './receiver.js';

/** A webhook spec's fixture: a scratch database, a pool on it, the app under test and an admin token. */
export interface WebhookSuite {
  pool: Pool;
  sut: TestApp;
  admin: string;
  /** A receiver closed with the suite. */
  receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver>;
  close(): Promise<void>;
}

/** Private-network receivers allowed, a 100 ms poll, no expiry sweeper; `env` adds to these. */
export async function startWebhookSuite(name: string, env: Record<string, string>): Promise<WebhookSuite> {
  const db = await createScratchDatabase(name);
  const pool = new Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
  const sut = await createTestApp(
    { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_POLL: '100ms', EXPIRY_SWEEP_ENABLED: 'false', ...env },
    db.url,
  );
  const admin = (await issueUsableKey(sut, { scopes: ['admin'] })).token;
  const receivers: Receiver[] = [];
  return {
    pool,
    sut,
    admin,
    async receiver(...args) {
      const r = await startReceiver(...args);
      receivers.push(r);
      return r;
    },
    async close() {
      await sut.close();
      for (const r of receivers) await r.close();
      await pool.end();
      await db.drop();
    },
  };
}

/** `POST /admin/webhooks` with `body` as `token`: the new endpoint's id and its signing secret. */
export async function addEndpoint(
  app: { url: string },
  token: string,
  body: Record<string, unknown>,
): Promise<{ id: string; secret: string }> {
  const created = await request(app.url).post('/admin/webhooks').set(bearer(token)).send(body).expect(201);
  return created.body as { id: string; secret: string };
}
