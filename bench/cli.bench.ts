/**
 * `npm run bench:cli`: how long a person waits for `keyledger …`. Starts the server as `npm start`
 * does (embedded PostgreSQL in a DATA_DIR of its own), issues a few keys, then runs each command
 * BENCH_RUNS times (default 10) as a user would, a new `node dist/src/cli/main.js` process each
 * time with only DATA_DIR set, and prints the median wall-clock time. Beside them, the floor: a
 * bare `node`, and the imports a command that opens the registry pays before doing anything
 * (--help, --version and bad input pay neither).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '../test/support/free-port.js';
import { distribution, envSeconds, fmt, machineLine, progressFor, verdict } from './support/bench-env.js';

const progress = progressFor('cli');
const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const RUNS = Math.round(envSeconds('BENCH_RUNS', 10, 1));

/** A user's shell in another terminal: their PATH and HOME, the server's DATA_DIR, nothing else of the server's. */
function userEnv(dataDir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, USER: process.env.USER, DATA_DIR: dataDir };
}

/**
 * Preloaded into each timed process: writes the CPU time it used (user + system) to stderr as it
 * exits. On a VM shared with other work, wall-clock time mostly measures the neighbours; CPU time
 * much less so.
 */
const CPU_PROBE =
  "data:text/javascript,import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.cpuUsage(); writeSync(2, `\\ncpu-ms ${(u.user + u.system) / 1000}\\n`); });";

interface Sample {
  wallMs: number;
  cpuMs: number;
}

/** Runs `node <args>` once; its wall-clock and CPU time in ms. A failed run stops the bench. */
function runOnce(args: readonly string[], env: NodeJS.ProcessEnv): Sample {
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--import', CPU_PROBE, ...args], { env, cwd: ROOT, encoding: 'utf8' });
  const wallMs = performance.now() - started;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  const cpu = /\ncpu-ms ([\d.]+)\n$/.exec(run.stderr);
  if (!cpu) throw new Error(`node ${args.join(' ')} reported no CPU time: ${run.stderr}`);
  return { wallMs, cpuMs: Number(cpu[1]) };
}

const time = (args: readonly string[], env: NodeJS.ProcessEnv): Sample[] => Array.from({ length: RUNS }, () => runOnce(args, env));

interface Row {
  name: string;
  samples: Sample[];
  targetMs?: number;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyledger-bench-cli-'));
  const [port, pgPort] = [await freePort(), await freePort()];
  progress(`starting the server (embedded PostgreSQL on port ${pgPort}, DATA_DIR ${dataDir})`);
  const server = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], {
    env: { ...userEnv(dataDir), PORT: String(port), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'warn', EXPIRY_SWEEP_ENABLED: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + 180_000; // a first start initialises the cluster
    while (
      !(await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error('the server did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const env = userEnv(dataDir);
    progress('issuing 5 keys with the CLI');
    for (let i = 0; i < 5; i++) runOnce([CLI, 'keys', 'create', '--tenant', 'bench', '--name', `key ${i}`], env);

    progress(`timing each command ${RUNS} times`);
    const nestImports = "await import('reflect-metadata'); await import('@nestjs/common'); await import('@nestjs/core');";
    const rows: Row[] = [
      { name: 'keyledger --help', samples: time([CLI, '--help'], env), targetMs: 300 },
      { name: 'keyledger --version', samples: time([CLI, '--version'], env), targetMs: 300 },
      { name: 'keyledger keys list', samples: time([CLI, 'keys', 'list'], env), targetMs: 1000 },
      { name: 'keyledger keys list --json', samples: time([CLI, 'keys', 'list', '--json'], env), targetMs: 1000 },
      { name: "floor: node -e ''", samples: time(['-e', ''], env) },
      { name: 'floor: import Nest', samples: time(['--input-type=module', '-e', nestImports], env) },
      {
        name: 'floor: import the registry modules',
        samples: time(['--input-type=module', '-e', `import 'reflect-metadata'; await import('./dist/src/cli/registry.module.js');`], env),
      },
    ];

    process.stdout.write(`bench:cli — ${machineLine()}; ${RUNS} runs each, wall clock per process\n\n`);
    process.stdout.write('| command | median wall | min–max wall | median CPU | target (wall) | met |\n|---|---|---|---|---|---|\n');
    for (const { name, samples, targetMs } of rows) {
      const wall = distribution(samples.map((s) => s.wallMs));
      const minWall = Math.min(...samples.map((s) => s.wallMs));
      const cpu = distribution(samples.map((s) => s.cpuMs));
      const target = targetMs === undefined ? '' : `≤ ${fmt(targetMs)} ms`;
      const met = targetMs === undefined ? '' : verdict(wall.p50 <= targetMs);
      process.stdout.write(
        `| \`${name}\` | ${fmt(wall.p50)} ms | ${fmt(minWall)}–${fmt(wall.max)} ms | ${fmt(cpu.p50)} ms | ${target} | ${met} |\n`,
      );
    }
  } finally {
    server.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
