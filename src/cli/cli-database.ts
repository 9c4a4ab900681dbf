import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { AppConfig } from '../config/config.js';
import { resolveDatabase, type ResolvedDatabase } from '../database/resolve-database.js';

/**
 * Without DATABASE_URL the server runs an embedded PostgreSQL under DATA_DIR. A CLI run next to a
 * running server must use that cluster, not try to start a second postmaster on the same
 * directory (which fails on its lock file): if one answers on EMBEDDED_PG_PORT with the password
 * kept beside it, attach to it and leave it running. Otherwise start one for this run only.
 */
export async function resolveCliDatabase(config: AppConfig): Promise<ResolvedDatabase> {
  if (!config.databaseUrl) {
    const url = await runningEmbeddedUrl(config);
    if (url) return { url, embedded: true, stop: () => Promise.resolve() };
  }
  return resolveDatabase(config);
}

async function runningEmbeddedUrl(config: AppConfig): Promise<string | undefined> {
  // The layout startEmbeddedPostgres uses: DATA_DIR/pg (the cluster), DATA_DIR/pg-password, database "keyledger".
  const passwordFile = join(config.dataDir, 'pg-password');
  if (!existsSync(join(config.dataDir, 'pg', 'postmaster.pid')) || !existsSync(passwordFile)) return undefined;
  const password = (await readFile(passwordFile, 'utf8')).trim();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${config.embeddedPostgresPort}/keyledger`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return url;
  } catch {
    return undefined; // a stale lock file: resolveDatabase starts the cluster
  } finally {
    await client.end().catch(() => undefined);
  }
}
