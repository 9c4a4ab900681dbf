// `npm start`: builds only when a source is newer than the last build, then runs the server in
// this very process. package.json starts it with `exec`, so the process npm signals (systemd,
// Docker, a process manager, Ctrl-C) is the server itself: SIGTERM drains it and stops the
// embedded PostgreSQL. In production run `npm run start:prod` (`node dist/src/main.js`), no build.
import { buildIfStale } from './build-if-stale.mjs';

buildIfStale();
const { main } = await import('../dist/src/main.js');
main();
