import { Injectable, Logger, type INestApplicationContext, type OnApplicationShutdown, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type AppConfig, loadConfig } from '../config/index.js';
import { pendingMigrations, runMigrations, type ResolvedDatabase } from '../database/index.js';
import { resolveCliDatabase } from './cli-database.js';
import { cliLogger } from './cli-logger.js';

/**
 * The keyledger registry a command works on, opened on first use: commands that only parse
 * (--help, bad input) never touch a database. Closed when the CLI's own context closes: the Nest
 * context first (pool, LISTEN connection), then the embedded PostgreSQL if this run started it.
 */
@Injectable()
export class Registry implements OnApplicationShutdown {
  private config: AppConfig | undefined;
  private database: Promise<ResolvedDatabase> | undefined;
  private context: Promise<INestApplicationContext> | undefined;

  /** The server's configuration (environment variables), validated. */
  appConfig(): AppConfig {
    this.config ??= loadConfig();
    return this.config;
  }

  /** DATABASE_URL, else the embedded PostgreSQL under DATA_DIR (attached to, or started for this run). */
  databaseUrl(): Promise<string> {
    this.database ??= (() => {
      const config = this.appConfig();
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

  /** Applies pending migrations; resolves with their names. */
  async migrate(): Promise<string[]> {
    return runMigrations(await this.databaseUrl());
  }

  private async boot(): Promise<INestApplicationContext> {
    const config = this.appConfig();
    const url = await this.databaseUrl();
    if (config.runMigrations && (await pendingMigrations(url)).length > 0) {
      const applied = await this.migrate();
      if (applied.length > 0) new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
    }
    // The registry's modules (keys, audit, the HTTP API's DTOs) load here: --help and bad input never pay for them.
    const { RegistryModule } = await import('./registry.module.js');
    return NestFactory.createApplicationContext(RegistryModule.forRoot(config, url), {
      logger: cliLogger(config),
      abortOnError: false,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    const context = await this.context?.catch(() => undefined);
    await context?.close();
    const database = await this.database?.catch(() => undefined);
    await database?.stop();
  }
}
