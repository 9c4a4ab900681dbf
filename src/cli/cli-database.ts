import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { AppConfig } from '../config/index.js';
import { embeddedPasswordFile, embeddedUrl, readEmbeddedRuntime, resolveDatabase, type ResolvedDatabase } from '../database/index.js';

/**
 * Without DATABASE_URL the server runs an embedded PostgreSQL under DATA_DIR. A CLI run next to a
 * running server must use that cluster, not try to start a second postmaster on the same
 * directory (which fails on its lock file). The server says where it listens in DATA_DIR (whatever
 * EMBEDDED_PG_PORT it was given); if a cluster answers there with the password kept beside it,
 * attach to it and leave it running. Otherwise (no server, or a file left by one that died) start
 * one for this run only. Its log lines are debug output: a failure to start is the error itself.
 */
export async function resolveCliDatabase(config: AppConfig): Promise<ResolvedDatabase> {
  if (!config.databaseUrl) {
    const url = await runningEmbeddedUrl(config.dataDir);
    if (url) return { url, embedded: true, stop: () => Promise.resolve() };
  }
  return resolveDatabase(config, { postgresLog: 'debug' });
}

async function runningEmbeddedUrl(dataDir: string): Promise<string | undefined> {
  const runtime = await readEmbeddedRuntime(dataDir);
  if (!runtime) return undefined;
  const password = (await readFile(embeddedPasswordFile(dataDir), 'utf8').catch(() => '')).trim();
  if (!password) return undefined;
  const url = embeddedUrl(password, runtime);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  // A dead server's file: nothing listens there, or another cluster that does not know the password.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
