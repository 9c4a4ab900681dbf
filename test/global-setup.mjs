// Runs once before all test files (outside jest's module system, so it uses the compiled build:
// `npm test` builds first). Starts an embedded PostgreSQL, or uses TEST_DATABASE_URL, creates a
// fresh database whose name contains "test" and runs the real migrations on it.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../dist/src/database/embedded-postgres.js';
import { runMigrations } from '../dist/src/database/migrations.js';

// One cluster per jest run (several runs may overlap on a developer machine), removed at teardown.
export const RUN_DIR = join(import.meta.dirname, '..', '.test-data', `run-${process.pid}`);
export const STATE_FILE = join(RUN_DIR, 'state.json');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export default async function globalSetup() {
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    globalThis.__KEYLEDGER_PG__ = await startEmbeddedPostgres({ dataDir: RUN_DIR, port: await freePort(), database: 'postgres' });
    serverUrl = globalThis.__KEYLEDGER_PG__.url;
  }
  const name = `keyledger_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  mkdirSync(dirname(STATE_FILE), { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify({ url: url.toString(), serverUrl, name }));
  process.env.KEYLEDGER_TEST_DATABASE_URL = url.toString();
  // Where test apps record the responses they sent, checked against the OpenAPI document at teardown.
  process.env.KEYLEDGER_TEST_RUN_DIR = RUN_DIR;
  // Names this run's temp folders (test/support/temp-dir.ts), which the teardown checks are gone.
  process.env.KEYLEDGER_TEST_RUN = String(process.pid);
}
