import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Actor, CommandContext } from '../keys/index.js';
import { CLI_VERSION } from './version.js';

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
    return process.env.USER ?? process.env.LOGNAME ?? 'unknown';
  }
}

/** An operator at a shell: unrestricted, like the system actor, but named in every event it writes. */
export function cliActor(): Actor {
  return { type: 'cli', id: `cli:${osUser()}`, tenantId: null, scopes: null };
}

/** One request id per CLI run; the user agent records the CLI version and the host it ran on. */
export function cliCommandContext(): CommandContext {
  return { actor: cliActor(), requestId: randomUUID(), userAgent: `keyledger-cli/${CLI_VERSION} (${hostname()})` };
}
