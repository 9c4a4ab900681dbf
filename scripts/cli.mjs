// `npm run -s cli -- <args>`: the CLI from a checkout, built first only when a source changed
// (the build's output on stderr, so stdout stays the command's result).
import { buildIfStale } from './build-if-stale.mjs';

buildIfStale();
await import('../dist/src/cli/main.js');
