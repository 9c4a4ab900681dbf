import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';

/** TypeORM is for migrations only: loaded when they run, not by whoever imports the database module. */
async function dataSource(url: string): Promise<DataSource> {
  const { DataSource } = await import('typeorm');
  return new DataSource({
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
  });
}

/** Runs pending migrations; returns the names of those applied. Instances starting together take turns. */
export async function runMigrations(url: string): Promise<string[]> {
  const lock = new Client({ connectionString: url, application_name: 'keyledger-migrate' });
  await lock.connect();
  try {
    await lock.query(`SELECT pg_advisory_lock(hashtext('keyledger.migrations'))`);
    const ds = await (await dataSource(url)).initialize();
    try {
      const applied = await ds.runMigrations();
      return applied.map((m) => m.name);
    } finally {
      await ds.destroy();
    }
  } finally {
    await lock.end(); // ending the session releases the lock
  }
}

export async function revertLastMigration(url: string): Promise<void> {
  const ds = await (await dataSource(url)).initialize();
  try {
    await ds.undoLastMigration();
  } finally {
    await ds.destroy();
  }
}
