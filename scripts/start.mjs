// `npm start`: builds only when a source is newer than the last build, then runs the server in
// this very process. package.json starts it with `exec`, so the process npm signals (systemd,
// Docker, a process manager, Ctrl-C) is the server itself: SIGTERM drains it and stops the
// embedded PostgreSQL. In production run `npm run start:prod` (`node dist/src/main.js`), no build.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['src', 'console', 'migrations', 'packages', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
/** Written last by each part of the build: the server (tsc) and the console (esbuild). */
const OUTPUTS = ['dist/src/main.js', 'dist/console/index.html'];

/** The newest modification time under `path` (0 if it does not exist); build output and dependencies excluded. */
function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

const builtAt = Math.min(...OUTPUTS.map((file) => newest(join(root, file)) || 0));
const changedAt = Math.max(...SOURCES.map((path) => newest(join(root, path))));
if (builtAt === 0 || changedAt > builtAt) {
  console.error('keyledger: sources changed since the last build; building…');
  const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const { main } = await import('../dist/src/main.js');
main();
