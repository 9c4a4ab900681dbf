import { loadConfig } from '../config/index.js';
import { revertLastMigration, runMigrations } from './migrations.js';
import { resolveDatabase } from './resolve-database.js';

/** `npm run migration:run` / `migration:revert`: against DATABASE_URL, or the embedded server. */
async function main(command: string | undefined): Promise<void> {
  if (command !== 'run' && command !== 'revert') {
    throw new Error('usage: migrate run|revert');
  }
  const database = await resolveDatabase(loadConfig());
  try {
    if (command === 'run') {
      const applied = await runMigrations(database.url);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply: the schema is up to date');
    } else {
      await revertLastMigration(database.url);
      console.log('reverted the last migration');
    }
  } finally {
    await database.stop();
  }
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
