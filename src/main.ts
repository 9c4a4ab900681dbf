import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { type AppConfig, ConfigError, loadConfig } from './config/index.js';
import { createLogger, MetricsServer, PinoLoggerService } from './observability/index.js';
import { configureApp, createFastifyAdapter } from './configure-app.js';
import { resolveDatabase, runMigrations } from './database/index.js';

/** A port already in use stops start-up before anything happens: no database started, no key issued. */
async function assertPortFree(host: string, port: number | null, variable: 'PORT' | 'METRICS_PORT'): Promise<void> {
  if (port === 0 || port === null) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use: stop what uses it or set ${variable}`) : error,
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

export interface RunningServer {
  app: NestFastifyApplication;
  /** Closes the app (HTTP, pool, LISTEN connection), then the embedded PostgreSQL if it started one. */
  close(): Promise<void>;
}

export async function serve(config: AppConfig): Promise<RunningServer> {
  const pinoLogger = createLogger(config.logLevel);
  const logger = new PinoLoggerService(pinoLogger);
  Logger.overrideLogger(logger);
  await assertPortFree(config.host, config.port, 'PORT');
  await assertPortFree(config.metricsHost, config.metricsPort, 'METRICS_PORT');
  const database = await resolveDatabase(config);
  let app: NestFastifyApplication;
  try {
    if (config.runMigrations) {
      // Before Nest starts: every module may rely on the schema in its init hooks.
      const applied = await runMigrations(database.url);
      if (applied.length > 0) new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
    }
    app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot(config, database.url),
      createFastifyAdapter(pinoLogger, config.trustProxy),
      {
        logger,
        abortOnError: false,
      },
    );
    configureApp(app);
  } catch (error) {
    await database.stop();
    throw error;
  }
  // Stop the embedded PostgreSQL only after Nest has closed the pool and the LISTEN connection.
  // (Not by overriding app.close: Nest's proxy around the app ignores the assignment.)
  const close = async (): Promise<void> => {
    await app.close();
    await database.stop();
  };
  await app.listen(config.port, config.host).catch(async (error: unknown) => {
    await close();
    throw error;
  });
  const { port } = app.getHttpServer().address() as { port: number };
  const base = `http://${config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host}:${port}`;
  const keyFile = join(config.dataDir, 'bootstrap-admin.key');
  const ready = {
    console: `${base}/console`,
    docs: `${base}/docs`,
    health: `${base}/health`,
    metrics: app.get(MetricsServer).url(),
    bootstrapKey: existsSync(keyFile) ? keyFile : null,
    database: database.embedded
      ? `embedded PostgreSQL in ${config.dataDir}/pg, port ${config.embeddedPostgresPort}`
      : 'external (DATABASE_URL)',
    listening: `${config.host}:${port}`,
  };
  // One record with what a person needs next; Nest's per-route lines are at debug level.
  new Logger('keyledger').log({
    msg: `ready: console ${ready.console} · API docs ${ready.docs} · health ${ready.health} · metrics ${ready.metrics ?? 'off (METRICS_PORT=off)'} · bootstrap key ${ready.bootstrapKey ?? 'none written (an admin key already existed)'} · database ${ready.database}`,
    ...ready,
  });
  return { app, close };
}

/**
 * SIGTERM/SIGINT: stop accepting connections and let in-flight requests finish, let projections
 * commit their current batch, close LISTEN and the pool, then stop the embedded PostgreSQL.
 */
function closeOnSignals(server: RunningServer): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    new Logger('keyledger').log(`${signal} received: draining and shutting down`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`keyledger: error during shutdown: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** The server as a user starts it (`node dist/src/main.js`, or `npm start` through scripts/start.mjs). */
export function main(): void {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`keyledger: configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  serve(config).then(closeOnSignals, (error: unknown) => {
    console.error(`keyledger: failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
