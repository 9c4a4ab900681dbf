#!/usr/bin/env node
import { CLI_VERSION } from './version.js';

// `npx keyledger -- keys list` (the `--` keeps npx from reading keyledger's options as its own)
// passes the `--` on; keyledger takes no operands before its command, so a leading one means nothing.
if (process.argv[2] === '--') process.argv.splice(2, 1);

// `keyledger --version` needs nothing else: answered before Nest and the registry are loaded.
if (process.argv.length === 3 && ['--version', '-V'].includes(process.argv[2])) {
  process.stdout.write(`${CLI_VERSION}\n`);
  process.exit(0);
}

// `keyledger … | head`: a closed pipe is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

await import('reflect-metadata');
const { runCli } = await import('./run-cli.js');
const exitCode = await runCli(process.argv);
// Everything is closed by now: let what was written reach the reader, then exit even if a library left a timer behind.
const flushed = (stream: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(exitCode);
