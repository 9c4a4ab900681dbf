import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/index.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

export interface ResolvedDatabase {
  url: string;
  embedded: boolean;
  /** Stops the embedded server (a no-op for an external one). */
  stop(): Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise a real PostgreSQL started from the embedded-postgres package.
 * Its FATAL/ERROR lines are warnings for a server; the CLI asks for them at debug level.
 */
export async function resolveDatabase(config: AppConfig, options: { postgresLog?: 'warn' | 'debug' } = {}): Promise<ResolvedDatabase> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, stop: () => Promise.resolve() };
  const logger = new Logger('EmbeddedPostgres');
  logger.log(`DATABASE_URL is unset: starting an embedded PostgreSQL in ${config.dataDir}/pg on port ${config.embeddedPostgresPort}`);
  const handle = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.embeddedPostgresPort,
    database: 'keyledger',
    log: (line) => {
      if (/FATAL|PANIC|ERROR/.test(line)) logger[options.postgresLog ?? 'warn'](line);
    },
  });
  return { url: handle.url, embedded: true, stop: () => handle.stop() };
}
