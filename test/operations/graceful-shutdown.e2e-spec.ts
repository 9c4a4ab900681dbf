import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { createTestApp, issueKey, TEST_PEPPER } from '../support/test-app.js';
import { testDatabaseUrl, testPool } from '../support/test-database.js';
import { freePort } from '../support/free-port.js';

describe('graceful shutdown of the real process', () => {
  let pool: Pool;
  let child: ChildProcess | undefined;
  beforeAll(() => {
    pool = testPool();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await pool.end();
  });

  it('keeps every acknowledged command when SIGTERM arrives under load, and exits 0', async () => {
    const issuer = await createTestApp();
    const admin = await issueKey(issuer.app, { scopes: ['admin'] });
    await issuer.close();

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['dist/src/main.js'], {
      env: {
        ...process.env,
        DATABASE_URL: testDatabaseUrl(),
        PORT: String(port),
        HOST: '127.0.0.1',
        KEY_PEPPER: TEST_PEPPER,
        RUN_MIGRATIONS: 'false',
        BOOTSTRAP_ADMIN: 'false',
        EXPIRY_SWEEP_ENABLED: 'false',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'keyledger-test-')),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      child!.once('exit', (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = await fetch(`${base}/health/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (exitCode !== undefined) throw new Error(`the server exited (${exitCode}) before it was ready: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`the server did not become ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const tenantId = `t-${randomUUID()}`;
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
    child.kill('SIGTERM');
    const code = await exited;
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
