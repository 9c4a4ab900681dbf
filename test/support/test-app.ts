import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Writable } from 'node:stream';
import { AppModule } from '../../src/app.module.js';
import { loadConfig, type AppConfig } from '../../src/config/index.js';
import { configureApp, createFastifyAdapter } from '../../src/configure-app.js';
import { CreateKeyCommand, SYSTEM_ACTOR } from '../../src/keys/index.js';
import { createLogger, MetricsServer } from '../../src/observability/index.js';
import { recordOpenApiDocument, recordResponses } from './response-coverage.mjs';
import { makeTestTempDir } from './temp-dir.js';
import { testDatabaseUrl } from './test-database.js';

/** A pepper shared by every test app, so instances on one database verify each other's keys. */
export const TEST_PEPPER = 'test-pepper-0123456789abcdef0123456789abcdef';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** Base URL of the listening server (real HTTP, real Fastify). */
  url: string;
  /** `/metrics` on the app's own metrics listener (a free loopback port). */
  metricsUrl: string;
  /** Log lines the app wrote (for the "no plaintext key in logs" checks). */
  logs: string[];
  /** Fastify's own JSON log (request lines with their URL), when asked for with `httpLog`. */
  httpLog: () => string;
  close(): Promise<void>;
}

/**
 * The real app, built exactly as main.ts builds it (createFastifyAdapter + configureApp), on the
 * migrated test database (or on `databaseUrl`, e.g. a database a test created for itself),
 * listening on a random port.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  databaseUrl: string = testDatabaseUrl(),
  options: { httpLog?: boolean } = {},
): Promise<TestApp> {
  // Removed again by close(): a test run leaves no folders behind.
  const dataDir = makeTestTempDir();
  const config = loadConfig({
    DATA_DIR: dataDir,
    KEY_PEPPER: TEST_PEPPER,
    RUN_MIGRATIONS: 'false',
    BOOTSTRAP_ADMIN: 'false',
    LOG_LEVEL: 'warn',
    PROJECTION_POLL_MS: '200',
    METRICS_PORT: '0',
    ...env,
  });
  const logs: string[] = [];
  const capture =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) => {
      logs.push(`${level} ${[message, ...rest].map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ')}`);
    };
  const httpChunks: string[] = [];
  const httpLogger = options.httpLog
    ? createLogger(
        'info',
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            httpChunks.push(chunk.toString('utf8'));
            done();
          },
        }),
      )
    : undefined;
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, databaseUrl), createFastifyAdapter(httpLogger), {
    logger: {
      log: capture('log'),
      error: capture('error'),
      warn: capture('warn'),
      debug: capture('debug'),
      verbose: capture('verbose'),
      fatal: capture('fatal'),
    },
  });
  configureApp(app);
  recordResponses(app.getHttpAdapter().getInstance());
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  await recordOpenApiDocument(url);
  const close = async (): Promise<void> => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const metricsUrl = app.get(MetricsServer).url();
  if (metricsUrl === null) throw new Error('the metrics listener is off (METRICS_PORT=off)');
  return { app, config, url, metricsUrl, logs, httpLog: () => httpChunks.join(''), close };
}

/** Issues a key through the real command bus as the system actor (how tests get their first admin key). */
export async function issueKey(
  app: NestFastifyApplication,
  input: { tenantId?: string; name?: string; scopes?: string[]; tags?: Record<string, string>; expiresAt?: Date | null } = {},
): Promise<{ id: string; publicId: string; token: string }> {
  const created = await app.get(CommandBus).execute(
    new CreateKeyCommand(
      {
        tenantId: input.tenantId ?? `t-${randomUUID().slice(0, 8)}`,
        name: input.name ?? 'test key',
        scopes: input.scopes,
        tags: input.tags,
        expiresAt: input.expiresAt,
      },
      { actor: SYSTEM_ACTOR, requestId: 'test' },
    ),
  );
  return { id: created.view.id, publicId: created.view.publicId, token: created.token! };
}
