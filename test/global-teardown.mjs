import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { RUN_DIR, STATE_FILE } from './global-setup.mjs';
import { undocumentedResponses } from './support/response-coverage.mjs';

export default async function globalTeardown() {
  const { serverUrl, name } = JSON.parse(readFileSync(STATE_FILE, 'utf8'));
  // Read before the run's folder goes; reported after the cleanup, which must happen either way.
  const undocumented = undocumentedResponses(RUN_DIR);
  if (!process.env.KEEP_TEST_DATABASE) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
  await globalThis.__KEYLEDGER_PG__?.stop();
  if (!process.env.KEEP_TEST_DATABASE) rmSync(RUN_DIR, { recursive: true, force: true });
  const problems = [];
  if (undocumented.length > 0) {
    problems.push(
      `The test apps answered ${undocumented.length} (operation, status) pair(s) the OpenAPI document does not list ` +
        `(add the status to the route's @ApiErrorResponses or success response):\n  ${undocumented.join('\n  ')}`,
    );
  }
  const left = removeTempFoldersLeft();
  if (left.length > 0) {
    problems.push(
      `the tests left ${left.length} folder(s) in ${tmpdir()} (now removed): ${left.join(', ')}. A test removes what it makes (test/support/temp-dir.ts).`,
    );
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** Every test removes what it makes: returns the folders this run made in the temp directory and left there (removing them). */
function removeTempFoldersLeft() {
  const prefix = `keyledger-test-r${process.env.KEYLEDGER_TEST_RUN}-`;
  const left = readdirSync(tmpdir()).filter((entry) => entry.startsWith(prefix));
  for (const entry of left) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  return left;
}
