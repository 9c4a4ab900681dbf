import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../support/free-port.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { TEST_PEPPER } from '../support/test-app.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** The README promises that SIGTERM or SIGINT stops the server and its embedded PostgreSQL within this long. */
const STOP_BOUND_MS = 10_000;

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * What systemd, Docker, tmux scripts and process managers do: start `npm start` (the README's
 * command, embedded PostgreSQL and all) and signal exactly that process.
 */
describe('npm start, signalled as a process manager would', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to the npm process stops the server and its embedded PostgreSQL within 10 s',
    async (signal) => {
      const [port, pgPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
      const dataDir = makeTestTempDir();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        EMBEDDED_PG_PORT: String(pgPort),
        DATA_DIR: dataDir,
        KEY_PEPPER: TEST_PEPPER,
        LOG_LEVEL: 'info',
      };
      delete env.DATABASE_URL; // the embedded default
      delete env.HOST;
      const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      npm.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
      npm.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
      try {
        const deadline = Date.now() + 90_000; // a first start initialises the embedded cluster
        while (
          !(await fetch(`http://127.0.0.1:${port}/health/ready`).then(
            (r) => r.ok,
            () => false,
          ))
        ) {
          if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not become ready: ${output}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(await listening(pgPort)).toBe(true);
        expect(output).not.toContain('building'); // `npm test` built it: nothing changed since
        // One record says what to open next; Nest's line per route is at debug level.
        const base = `http://127.0.0.1:${port}`; // the embedded default listens on loopback only
        const metrics = `http://127.0.0.1:${metricsPort}/metrics`;
        expect(output).toContain(
          `ready: console ${base}/console · API docs ${base}/docs · health ${base}/health · metrics ${metrics} · bootstrap key ${join(dataDir, 'bootstrap-admin.key')}`,
        );
        expect((await fetch(metrics)).status).toBe(200);
        expect((await fetch(`${base}/metrics`)).status).toBe(404); // not on the API's listener
        expect(output).toContain(`database embedded PostgreSQL in ${dataDir}/pg, port ${pgPort}`);
        expect(output).not.toMatch(/Mapped \{/);
        const root = await fetch(`${base}/`, { redirect: 'manual' });
        expect([root.status, root.headers.get('location')]).toEqual([302, '/console']);

        const signalledAt = Date.now();
        npm.kill(signal);
        // Stopping is asynchronous (drain, close the pool, stop PostgreSQL): the bound is the contract.
        for (;;) {
          const [server, scrape, postgres] = await Promise.all([listening(port), listening(metricsPort), listening(pgPort)]);
          if (!server && !scrape && !postgres && !existsSync(join(dataDir, 'pg', 'postmaster.pid'))) break;
          if (Date.now() - signalledAt > STOP_BOUND_MS) {
            throw new Error(
              `still running ${STOP_BOUND_MS} ms after ${signal}: server ${server}, metrics ${scrape}, postgres ${postgres}\n${output}`,
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(await exited).toBe(0);
      } finally {
        if (npm.exitCode === null) npm.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    150_000,
  );

  it.each(['PORT', 'METRICS_PORT'] as const)(
    'refuses to start when %s is already in use, before it starts a database or issues a key',
    async (variable) => {
      const ports = { PORT: await freePort(), METRICS_PORT: await freePort() };
      const [port, pgPort] = [ports[variable], await freePort()];
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', () => resolve()));
      const dataDir = makeTestTempDir();
      try {
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          PORT: String(ports.PORT),
          METRICS_PORT: String(ports.METRICS_PORT),
          EMBEDDED_PG_PORT: String(pgPort),
          DATA_DIR: dataDir,
          KEY_PEPPER: TEST_PEPPER,
        };
        delete env.DATABASE_URL;
        delete env.HOST;
        const child = spawn(process.execPath, ['dist/src/main.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
        const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
        expect(code).toBe(1);
        expect(stderr).toContain(
          `keyledger: failed to start: port ${port} on 127.0.0.1 is already in use: stop what uses it or set ${variable}`,
        );
        expect(existsSync(join(dataDir, 'bootstrap-admin.key'))).toBe(false);
        expect(existsSync(join(dataDir, 'pg'))).toBe(false);
      } finally {
        taken.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});
