import pg from 'pg';
import { MIGRATIONS } from '../../migrations/index.js';

/**
 * The names of the migrations not applied yet, read from TypeORM's `migrations` table without
 * loading TypeORM (slow to import: docs/performance-log.md, bench:cli): a CLI command on an
 * up-to-date database skips it.
 */
export async function pendingMigrations(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'keyledger-migrate' });
  await client.connect();
  try {
    const table = await client.query<{ present: boolean }>(`SELECT to_regclass('migrations') IS NOT NULL AS present`);
    const { rows } = table.rows[0]?.present ? await client.query<{ name: string }>('SELECT name FROM migrations') : { rows: [] };
    const applied = new Set(rows.map((r) => r.name));
    return MIGRATIONS.map((migration) => new migration().name).filter((name) => !applied.has(name));
  } finally {
    await client.end();
  }
}
