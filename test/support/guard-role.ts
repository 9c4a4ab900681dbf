import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { testDatabaseUrl } from './test-database.js';

/** Roles are cluster-wide: a name of this run's own. */
export const uniqueRole = (): string => `guard_test_${randomBytes(5).toString('hex')}`;

/** The test database's URL as `role` would connect. */
export function urlAs(role: string, password: string): string {
  const url = new URL(testDatabaseUrl());
  url.username = role;
  url.password = password;
  return url.toString();
}

export async function asSuperuser<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Drops the role and the grants it holds in the test database. */
export const dropRole = (role: string): Promise<void> =>
  asSuperuser(async (c) => {
    if ((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 0) return;
    await c.query(`DROP OWNED BY ${pg.escapeIdentifier(role)}`);
    await c.query(`DROP ROLE ${pg.escapeIdentifier(role)}`);
  });
