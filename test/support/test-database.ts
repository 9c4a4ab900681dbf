import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';

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
