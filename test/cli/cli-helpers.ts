import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_PEPPER } from '../support/test-app.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { testDatabaseUrl } from '../support/test-database.js';

/** The built CLI, run as a user would run it (`npm test` builds first). */
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A plaintext key as the CLI prints it (default prefix). */
export const TOKEN = /^kl_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{34}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * DATA_DIR for CLI runs. With DATABASE_URL and KEY_PEPPER set a command writes nothing there; it
 * must only not be the repository's ./.data. A test that expects files there makes its own.
 */
const DATA_DIR = join(tmpdir(), 'keyledger-cli-tests');
mkdirSync(DATA_DIR, { recursive: true });

/** A DATA_DIR of its own, removed by `remove()`. */
export function tempDataDir(): { path: string; remove(): void } {
  const path = makeTestTempDir();
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * The environment a CLI run gets: the test database, the pepper every test app uses (so keys the
 * CLI issues verify on them), a private DATA_DIR, no migrations (the global setup ran them), and
 * nothing of the caller's LOG_LEVEL.
 */
export function cliEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    'LOG_LEVEL',
    'DATABASE_URL',
    'KEY_PEPPER',
    'DATA_DIR',
    'RUN_MIGRATIONS',
    'PORT',
    'METRICS_PORT',
    'METRICS_HOST',
    'NODE_OPTIONS',
  ]) {
    delete env[name];
  }
  Object.assign(env, {
    // A server started by a test never takes the default metrics port (9464): runs share the machine.
    METRICS_PORT: '0',
    DATABASE_URL: testDatabaseUrl(),
    KEY_PEPPER: TEST_PEPPER,
    DATA_DIR,
    RUN_MIGRATIONS: 'false',
    ...overrides,
  });
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

/** Starts `keyledger <args>`; for commands that keep running (serve). `input` is written to its stdin, then closed. */
export function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cliEnv(),
  input?: string,
): { child: ReturnType<typeof spawn>; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(input); // without input, at once: the command reads an empty stdin, as with </dev/null
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/**
 * Each run is a cold start of Node, Nest and the app's modules (a second or two of CPU): a few at
 * a time finish sooner than many at once on a small machine.
 */
const MAX_PARALLEL = 3;
let running = 0;
const waiting: (() => void)[] = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Generous: a cold start on a busy machine is slow; a hung command still fails the test. */
export const CLI_TEST_TIMEOUT = 180_000;

/** Runs `keyledger <args>` to its end (killed after `timeoutMs`, which fails the test). */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = cliEnv(), timeoutMs = 120_000, input?: string): Promise<CliResult> {
  return slot(async () => {
    const { child, done } = startCli(args, env, input);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      const result = await done;
      if (result.signal === 'SIGKILL') {
        throw new Error(`keyledger ${args.join(' ')} did not finish within ${timeoutMs} ms\n${result.stderr}`);
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  });
}

/** Runs a command that must succeed; a failure shows its stderr. */
export async function cliOk(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const result = await cli(args, env);
  if (result.code !== 0) throw new Error(`keyledger ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result;
}

/** Runs a command with --json that must succeed; resolves with its parsed stdout. */
export async function cliJson<T>(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<T> {
  const { stdout } = await cliOk([...args, '--json'], env);
  return JSON.parse(stdout) as T;
}

/** A key as `--json` prints it (create and rotate add the plaintext `key`). */
export interface KeyJson {
  id: string;
  publicId: string;
  name: string;
  tenantId: string;
  scopes: string[];
  tags: Record<string, string>;
  status: 'active' | 'expired' | 'revoked';
  expiresAt: string | null;
  graceEndsAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  key?: string | null;
}

/** Lines of a text output, without the trailing empty one. */
export const lines = (text: string): string[] => text.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
