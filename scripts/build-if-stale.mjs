// Builds only when a source is newer than the last build (`npm start`, `npm run cli`). Everything
// the build prints goes to stderr: stdout is the server's JSON log, or the CLI's result.
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

/** Exits the process with the build's status if the build fails. */
export function buildIfStale() {
  const builtAt = Math.min(...OUTPUTS.map((file) => newest(join(root, file)) || 0));
  const changedAt = Math.max(...SOURCES.map((path) => newest(join(root, path))));
  if (builtAt !== 0 && changedAt <= builtAt) return;
  console.error('keyledger: sources changed since the last build; building…');
  const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
