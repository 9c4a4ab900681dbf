import type { Pool } from 'pg';
import { startAppProcess, type AppProcess } from '../support/app-process.js';
import { createTestApp, issueKey } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { uniqueTenant } from '../support/keys.js';

describe('graceful shutdown of the real process', () => {
  let pool: Pool;
  let started: AppProcess | undefined;
  beforeAll(() => {
    pool = testPool();
  });
  afterAll(async () => {
    await started?.stop();
    await pool.end();
  });

  it('keeps every acknowledged command when SIGTERM arrives under load, and exits 0', async () => {
    const issuer = await createTestApp();
    const admin = await issueKey(issuer.app, { scopes: ['admin'] });
    await issuer.close();

    const server = await startAppProcess();
    started = server;
    const base = server.url;

    const tenantId = uniqueTenant();
    const acknowledged: string[] = [];
    let refused = 0;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await fetch(`${base}/admin/api-keys`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': admin.token },
            body: JSON.stringify({ tenantId, name: 'under load' }),
          });
          if (res.status === 201) acknowledged.push(((await res.json()) as { id: string }).id);
          else await res.arrayBuffer();
        } catch {
          refused++; // the server stopped accepting connections: expected after SIGTERM
          if (refused > 20) stop = true;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    const workers = Array.from({ length: 8 }, () => worker());
    while (acknowledged.length < 30) await new Promise((r) => setTimeout(r, 10));
    server.child.kill('SIGTERM');
    const code = await server.exited;
    stop = true;
    await Promise.all(workers);

    expect(code).toBe(0);
    expect(acknowledged.length).toBeGreaterThanOrEqual(30);
    const { rows } = await pool.query<{ stream_id: string; n: string }>(
      `SELECT stream_id, count(*) AS n FROM events WHERE stream_id = ANY($1::text[]) AND type = 'key.created' GROUP BY stream_id`,
      [acknowledged.map((id) => `key-${id}`)],
    );
    expect(rows).toHaveLength(acknowledged.length);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
  }, 150_000);
});
