import { Logger, type LoggerService } from '@nestjs/common';
import { Client } from 'pg';
import { loadConfig } from '../../src/config/index.js';
import { runMigrations, resolveDatabase } from '../../src/database/index.js';

/** Benches write here only, never into the app's database. */
export const BENCH_DATABASE = 'keyledger_bench';

export interface BenchDatabase {
  /** Connection string of the migrated keyledger_bench database. */
  url: string;
  embedded: boolean;
  /** Stops the embedded server (a no-op for DATABASE_URL). */
  stop(): Promise<void>;
}

function stderrLogger(progress: (line: string) => void): LoggerService {
  const write = (message: unknown): void => progress(typeof message === 'string' ? message : JSON.stringify(message));
  return { log: write, error: write, warn: write };
}

/**
 * Resolves the server like the app does (DATABASE_URL, or the embedded PostgreSQL under DATA_DIR),
 * then recreates keyledger_bench on it and runs the real migrations. Recreating it every run keeps
 * runs comparable: the events table cannot be truncated (append-only triggers), and tables that
 * grow from run to run would skew the append against the plain INSERT.
 */
export async function openBenchDatabase(progress: (line: string) => void): Promise<BenchDatabase> {
  // The embedded server logs through Nest's logger, which would print to stdout: the results channel.
  Logger.overrideLogger(stderrLogger(progress));
  const server = await resolveDatabase(loadConfig());
  try {
    const serverUrl = new URL(server.url);
    if (serverUrl.pathname === `/${BENCH_DATABASE}`) {
      throw new Error(`DATABASE_URL must name another database than ${BENCH_DATABASE} (the bench recreates that one)`);
    }
    const admin = new Client({ connectionString: server.url, application_name: 'keyledger-bench' });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${BENCH_DATABASE}`);
    } finally {
      await admin.end();
    }
    serverUrl.pathname = `/${BENCH_DATABASE}`;
    const url = serverUrl.toString();
    const applied = await runMigrations(url);
    progress(`created database ${BENCH_DATABASE}; applied migrations: ${applied.join(', ') || 'none'}`);
    return { url, embedded: server.embedded, stop: () => server.stop() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
