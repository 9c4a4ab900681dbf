import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { runMigrations } from '../../src/database/migrations.js';

/** The migrated test database created by the global setup (workers inherit its environment). */
export function testDatabaseUrl(): string {
  const url = process.env.KEYLEDGER_TEST_DATABASE_URL;
  if (url) return url;
  // In-band runs: the state file of this process's run.
  const file = join(import.meta.dirname, '..', '..', '.test-data', `run-${process.pid}`, 'state.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { url: string }).url;
}

export function testPool(max = 10): Pool {
  return new Pool({ connectionString: testDatabaseUrl(), max });
}

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Runs one statement on the test server as the superuser, on a connection of its own. */
async function onServer(sql: string): Promise<void> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A database of a test file's own on the test server, `keyledger_test_<label>_<random>` (the name
 * contains "test"), migrated unless `migrate: false` (for tests of `migrate` itself): for tests that
 * tamper with tables, cut connections or need an empty event store. `drop()` removes it.
 */
export async function createScratchDatabase(label: string, { migrate = true } = {}): Promise<ScratchDatabase> {
  const name = `keyledger_test_${label}_${randomBytes(6).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  if (migrate) await runMigrations(url.toString());
  return { url: url.toString(), name, drop: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
