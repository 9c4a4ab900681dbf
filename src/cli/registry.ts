import type { INestApplicationContext, Type } from '@nestjs/common';
import type { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { AppConfig } from '../config/index.js';
import type { ResolvedDatabase } from '../database/index.js';

/**
 * The keyledger registry a command works on, opened on first use: commands that only parse
 * (--help, bad input, scan) never load Nest or touch a database. Closed when the run ends: the
 * Nest context first (pool, LISTEN connection), then the embedded PostgreSQL if this run started it.
 */
export class Registry {
  private config: Promise<AppConfig> | undefined;
  private database: Promise<ResolvedDatabase> | undefined;
  private context: Promise<INestApplicationContext> | undefined;

  /** The server's configuration (environment variables), validated. */
  appConfig(): Promise<AppConfig> {
    this.config ??= import('../config/index.js').then(({ loadConfig }) => loadConfig());
    return this.config;
  }

  /** DATABASE_URL, else the embedded PostgreSQL under DATA_DIR (attached to, or started for this run). */
  databaseUrl(): Promise<string> {
    this.database ??= (async () => {
      const config = await this.appConfig();
      const [{ Logger }, { cliLogger }, { resolveCliDatabase }] = await Promise.all([
        import('@nestjs/common'),
        import('./cli-logger.js'),
        import('./cli-database.js'),
      ]);
      Logger.overrideLogger(cliLogger(config));
      return resolveCliDatabase(config);
    })();
    return this.database.then((d) => d.url);
  }

  open(): Promise<INestApplicationContext> {
    this.context ??= this.boot();
    return this.context;
  }

  async get<T>(type: Type<T>): Promise<T> {
    return (await this.open()).get(type);
  }

  async commandBus(): Promise<CommandBus> {
    const [{ CommandBus }, app] = await Promise.all([import('@nestjs/cqrs'), this.open()]);
    return app.get(CommandBus);
  }

  async queryBus(): Promise<QueryBus> {
    const [{ QueryBus }, app] = await Promise.all([import('@nestjs/cqrs'), this.open()]);
    return app.get(QueryBus);
  }

  /** Applies pending migrations; resolves with their names. */
  async migrate(): Promise<string[]> {
    const { runMigrations } = await import('../database/index.js');
    return runMigrations(await this.databaseUrl());
  }

  private async boot(): Promise<INestApplicationContext> {
    const config = await this.appConfig();
    const url = await this.databaseUrl();
    // Nest, the registry's modules (keys, audit, the HTTP API's DTOs) and the database load here.
    const [{ Logger }, { NestFactory }, { pendingMigrations }, { cliLogger }, { RegistryModule }] = await Promise.all([
      import('@nestjs/common'),
      import('@nestjs/core'),
      import('../database/index.js'),
      import('./cli-logger.js'),
      import('./registry.module.js'),
    ]);
    if (config.runMigrations && (await pendingMigrations(url)).length > 0) {
      const applied = await this.migrate();
      if (applied.length > 0) new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
    }
    return NestFactory.createApplicationContext(RegistryModule.forRoot(config, url), {
      logger: cliLogger(config),
      abortOnError: false,
    });
  }

  async close(): Promise<void> {
    const context = await this.context?.catch(() => undefined);
    await context?.close();
    const database = await this.database?.catch(() => undefined);
    await database?.stop();
  }
}
