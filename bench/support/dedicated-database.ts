import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { loadConfig, type AppConfig } from '../../src/config/index.js';
import { runMigrations, resolveDatabase } from '../../src/database/index.js';
import { AppModule } from '../../src/app.module.js';
import { benchAppConfig, startBenchApp, type BenchApp } from './bench-app.js';
import { stderrLogger } from './bench-env.js';

/** Where the verification benches keep their embedded PostgreSQL unless DATA_DIR / DATABASE_URL say otherwise (relative to the working directory, as DATA_DIR is). */
export const BENCH_DATA_DIR = './.data/bench';
/** Not the app's default (54329), so a bench never collides with `npm start` on the same machine. */
export const BENCH_EMBEDDED_PG_PORT = '54339';

export interface DedicatedDatabase {
  /** Connection string of the freshly created and migrated database. */
  url: string;
  embedded: boolean;
  /** The configuration the server was resolved with (DATA_DIR etc.), for apps built on it. */
  config: AppConfig;
  /** Stops the embedded server (a no-op for DATABASE_URL). */
  stop(): Promise<void>;
}

/**
 * Like openBenchDatabase (bench-database.ts) but for a database of the caller's choosing, so each
 * bench recreates only its own: resolves the server as the app does (DATABASE_URL, or an embedded
 * PostgreSQL under DATA_DIR, by default .data/bench on port 54339), drops and recreates `name` on
 * it and runs the real migrations.
 */
export async function openDedicatedDatabase(name: string, progress: (line: string) => void): Promise<DedicatedDatabase> {
  if (!/^keyledger_bench_[a-z0-9_]+$/.test(name)) throw new Error(`bench database names start with keyledger_bench_, got ${name}`);
  // The embedded server's Nest logger would print to stdout, the results channel.
  Logger.overrideLogger(stderrLogger());
  const config = loadConfig({ DATA_DIR: BENCH_DATA_DIR, EMBEDDED_PG_PORT: BENCH_EMBEDDED_PG_PORT, ...process.env, LOG_LEVEL: 'warn' });
  progress(
    config.databaseUrl
      ? 'using DATABASE_URL'
      : `starting the embedded PostgreSQL in ${config.dataDir} on port ${config.embeddedPostgresPort}`,
  );
  const server = await resolveDatabase(config);
  try {
    const serverUrl = new URL(server.url);
    if (serverUrl.pathname === `/${name}`) {
      throw new Error(`DATABASE_URL must name another database than ${name} (the bench recreates that one)`);
    }
    const admin = new Client({ connectionString: server.url, application_name: 'keyledger-bench' });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    serverUrl.pathname = `/${name}`;
    const url = serverUrl.toString();
    const applied = await runMigrations(url);
    progress(`created database ${name}; applied migrations: ${applied.join(', ') || 'none'}`);
    return { url, embedded: server.embedded, config, stop: () => server.stop() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Server version and the settings that matter to the benches, for the report header. */
export async function describeServer(url: string): Promise<string> {
  const client = new Client({ connectionString: url, application_name: 'keyledger-bench' });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string; sc: string; sb: string }>(
      `SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sc, current_setting('shared_buffers') AS sb`,
    );
    const s = rows[0];
    return `PostgreSQL ${s.version} (synchronous_commit=${s.sc}, shared_buffers=${s.sb})`;
  } finally {
    await client.end();
  }
}

/** Two app instances, A and B, in this process on one dedicated database, with one pepper. */
export interface TwoInstances {
  a: BenchApp;
  b: BenchApp;
  /** `embedded`/`external` and the server's version and settings, for the results' first line. */
  server: string;
}

/** Runs `measure` against two instances on the dedicated database `name`, then shuts all of it down. */
export async function withTwoInstances<T>(
  name: string,
  progress: (line: string) => void,
  measure: (instances: TwoInstances) => Promise<T>,
): Promise<T> {
  const database = await openDedicatedDatabase(name, progress);
  const apps: BenchApp[] = [];
  try {
    const server = `${database.embedded ? 'embedded' : 'external'} ${await describeServer(database.url)}`;
    const config = benchAppConfig(database.config); // one pepper for both instances
    const a = await startBenchApp(AppModule.forRoot(config, database.url));
    apps.push(a);
    const b = await startBenchApp(AppModule.forRoot(config, database.url));
    apps.push(b);
    return await measure({ a, b, server });
  } finally {
    progress('shutting down');
    for (const app of apps.reverse()) await app.close();
    await database.stop();
  }
}
