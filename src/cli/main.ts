#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from './run-cli.js';

// `keyledger … | head`: a closed pipe is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const exitCode = await runCli(process.argv);
// Everything is closed by now: let what was written reach the reader, then exit even if a library left a timer behind.
const flushed = (stream: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(exitCode);
