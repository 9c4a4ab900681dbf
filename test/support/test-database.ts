import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';

export const TEST_STATE_FILE = join(import.meta.dirname, '..', '..', '.test-data', 'state.json');

/** The migrated test database created by the global setup. */
export function testDatabaseUrl(): string {
  return (
    process.env.KEYLEDGER_TEST_DATABASE_URL ??
    (JSON.parse(readFileSync(TEST_STATE_FILE, 'utf8')) as { url: string }).url
  );
}

export function testPool(max = 10): Pool {
  return new Pool({ connectionString: testDatabaseUrl(), max });
}
