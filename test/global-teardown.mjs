import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  assertNoTempFoldersLeft();
}

/** Every test removes what it makes: a folder this run made in the temp directory and left there fails the run. */
function assertNoTempFoldersLeft() {
  const prefix = `keyledger-test-r${process.env.KEYLEDGER_TEST_RUN}-`;
  const left = readdirSync(tmpdir()).filter((entry) => entry.startsWith(prefix));
  for (const entry of left) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  if (left.length > 0) {
    throw new Error(`the tests left ${left.length} folder(s) in ${tmpdir()} (now removed): ${left.join(', ')}. A test removes what it makes (test/support/temp-dir.ts).`);
  }
}
