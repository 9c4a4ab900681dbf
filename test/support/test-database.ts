import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { runMigrations } from '../../src/database/index.js';
import { until } from './poll.js';

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
async function onServer<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Drops a scratch database. A pool's end() can resolve while its connections are still closing;
 * FORCE would end those with an error their (ended) pool no longer handles, so they go first, for
 * a bounded time.
 */
async function dropDatabase(name: string): Promise<void> {
  await onServer(async (client) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (rows[0].n === 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
}

/**
 * A database of a test file's own on the test server, `keyledger_test_<label>_<random>` (the name
 * contains "test"), migrated unless `migrate: false` (for tests of `migrate` itself): for tests that
 * tamper with tables, cut connections or need an empty event store. `drop()` removes it.
 */
export async function createScratchDatabase(label: string, { migrate = true } = {}): Promise<ScratchDatabase> {
  const name = `keyledger_test_${label}_${randomBytes(6).toString('hex')}`;
  await onServer((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  if (migrate) await runMigrations(url.toString());
  return { url: url.toString(), name, drop: () => dropDatabase(name) };
}

/**
 * Waits until no transaction older than `transactionId` runs in the cluster, so async readers may
 * read that transaction's events (EventStore.readAll's gate): another test file's transaction can
 * hold it back a moment, and a bound on a reader counts from here.
 */
export async function gatePassed(pool: Pool, transactionId: string): Promise<void> {
  await until(
    'the oldest running transaction to be newer than the event',
    async () =>
      (await pool.query<{ open: boolean }>('SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS open', [transactionId])).rows[0]
        .open,
    { timeoutMs: 10_000, intervalMs: 5 },
  );
}
