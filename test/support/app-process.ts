import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { TEST_PEPPER } from './test-app.js';
import { makeTestTempDir } from './temp-dir.js';
import { testDatabaseUrl } from './test-database.js';
import { freePort } from './free-port.js';
import { recordOpenApiDocument } from './response-coverage.mjs';

export interface AppProcess {
  child: ChildProcess;
  /** Base URL of the server. */
  url: string;
  /** `/metrics` on its metrics listener. */
  metricsUrl: string;
  /** What it wrote to stdout (JSON log lines) and stderr so far. */
  output(): string;
  /** The exit code once it has exited (a crash included), else undefined. */
  exitCode(): number | null | undefined;
  /** Resolves with the exit code once it has exited and its DATA_DIR is removed. */
  exited: Promise<number | null>;
  /** SIGKILL unless it has exited already; resolves once it has (and its DATA_DIR is gone). */
  stop(): Promise<void>;
}

/**
 * The server a user starts (`node dist/src/main.js`), as a process of its own: an uncaught
 * exception or an unhandled rejection in it ends it, which a test then sees. Resolves once
 * /health/ready answers 200. `env` overrides the defaults (the test database, no migrations, no
 * bootstrap admin, no expiry sweeper, DATA_DIR a temp folder removed when the process exits).
 */
export async function startAppProcess(env: Record<string, string> = {}): Promise<AppProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const dataDir = makeTestTempDir();
  // It records what it answers, as test apps do: global-teardown.mjs checks it against the OpenAPI document.
  const child = spawn(process.execPath, ['--import', './test/support/record-responses.mjs', 'dist/src/main.js'], {
    env: {
      ...process.env,
      DATABASE_URL: testDatabaseUrl(),
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      HOST: '127.0.0.1',
      KEY_PEPPER: TEST_PEPPER,
      RUN_MIGRATIONS: 'false',
      BOOTSTRAP_ADMIN: 'false',
      EXPIRY_SWEEP_ENABLED: 'false',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer): void => void (output += chunk.toString('utf8'));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      exitCode = code;
      resolve(code);
    }),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (exitCode !== undefined) throw new Error(`the server exited (${exitCode}) before it was ready: ${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`the server did not become ready: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await recordOpenApiDocument(url);
  const stop = async (): Promise<void> => {
    if (exitCode === undefined) child.kill('SIGKILL');
    await exited;
  };
  return {
    child,
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    output: () => output,
    exitCode: () => exitCode,
    exited,
    stop,
  };
}
