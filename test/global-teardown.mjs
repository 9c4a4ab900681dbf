import { readFileSync, rmSync } from 'node:fs';
import pg from 'pg';
import { RUN_DIR, STATE_FILE } from './global-setup.mjs';

export default async function globalTeardown() {
  const { serverUrl, name } = JSON.parse(readFileSync(STATE_FILE, 'utf8'));
  if (!process.env.KEEP_TEST_DATABASE) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
  await globalThis.__KEYLEDGER_PG__?.stop();
  if (!process.env.KEEP_TEST_DATABASE) rmSync(RUN_DIR, { recursive: true, force: true });
}
