export { copyIn, copyLine } from './copy-in.js';
export { DatabaseModule } from './database.module.js';
export { DATABASE_URL, PG_POOL } from './database.tokens.js';
export { embeddedPasswordFile, embeddedUrl, readEmbeddedRuntime } from './embedded-postgres.js';
export { runMigrations } from './migrations.js';
export { pendingMigrations } from './pending-migrations.js';
export { resolveDatabase } from './resolve-database.js';
export type { ResolvedDatabase } from './resolve-database.js';
