import type { Logger } from '@nestjs/common';
import { Pool, type PoolConfig } from 'pg';
import { RetryBackoff } from './retry-backoff.js';

/** A connection attempt that gets no answer fails after this long (a request then gets its 503). */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * The connection options every pool and dedicated client shares: connection attempts time out
 * instead of hanging on a database that does not answer, and TCP keep-alive notices a connection
 * that died silently.
 */
export const CONNECTION_OPTIONS = { connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true } as const;

/**
 * A pg Pool that survives losing its database. A connection that dies emits 'error': on the pool
 * when the client is idle, on the client itself while it is checked out (pg-pool then has no
 * listener on it), and an 'error' event nobody listens to ends the process. Both get a listener
 * here; the query in flight fails on its own and its caller handles that. Logged once per outage.
 */
export function createPool(config: PoolConfig, logger: Logger): Pool {
  const pool = new Pool({ ...CONNECTION_OPTIONS, ...config });
  const connections = new RetryBackoff(logger, `a connection of pool ${config.application_name ?? 'pg'}`);
  const lost = (error: Error): void => void connections.failed(error);
  pool.on('error', lost);
  pool.on('connect', (client) => {
    client.on('error', lost);
    connections.succeeded();
  });
  return pool;
}
