import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { Logger, type LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { ConfigError, loadConfig, type AppConfig, type LogLevel } from './config/config.js';
import { configureApp, createFastifyAdapter } from './configure-app.js';
import { runMigrations } from './database/migrations.js';
import { resolveDatabase } from './database/resolve-database.js';

const LEVELS: Record<LogLevel, NestLogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  verbose: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

export async function serve(config: AppConfig): Promise<NestFastifyApplication> {
  Logger.overrideLogger(LEVELS[config.logLevel]);
  const database = await resolveDatabase(config);
  if (config.runMigrations) {
    // Before Nest starts: every module may rely on the schema in its init hooks.
    const applied = await runMigrations(database.url);
    if (applied.length > 0) new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
  }
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, database.url),
    createFastifyAdapter(),
    { logger: LEVELS[config.logLevel], abortOnError: false },
  );
  configureApp(app);
  // Stop the embedded PostgreSQL only after Nest has closed the pool and the LISTEN connection.
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await database.stop();
  };
  await app.listen(config.port, config.host);
  new Logger('keyledger').log(`listening on http://localhost:${config.port} (API docs at /docs)`);
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
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
  serve(config).catch((error: unknown) => {
    console.error(`keyledger: failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
