import { randomBytes } from 'node:crypto';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '../../src/config/index.js';
import { configureApp, createFastifyAdapter } from '../../src/configure-app.js';
import { CreateKeyCommand, SYSTEM_ACTOR } from '../../src/keys/index.js';
import { stderrLogger } from './bench-env.js';

export interface BenchApp {
  app: NestFastifyApplication;
  /** Base URL of the listening server. */
  url: string;
  close(): Promise<void>;
}

/**
 * The app's configuration for a bench instance: the resolved server's config with a pepper shared
 * by every instance of this run (so they verify each other's keys), no migrations (already run),
 * no bootstrap admin, warnings only, listening (API and metrics) on random loopback ports.
 */
export function benchAppConfig(base: AppConfig): AppConfig {
  return {
    ...base,
    keyPepper: base.keyPepper ?? randomBytes(32).toString('base64url'),
    runMigrations: false,
    bootstrapAdmin: false,
    examplesEnabled: true,
    logLevel: 'warn',
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
  };
}

/** Builds an instance exactly as main.ts does (createFastifyAdapter + configureApp) from the given root module. */
export async function startBenchApp(root: DynamicModule): Promise<BenchApp> {
  const app = await NestFactory.create<NestFastifyApplication>(root, createFastifyAdapter(), {
    logger: stderrLogger(),
    abortOnError: false,
  });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** Issues a key through the command bus as the system actor, as the bootstrap admin and the tests do. */
export async function issueBenchKey(
  app: NestFastifyApplication,
  input: { tenantId: string; name: string; scopes: string[]; tags?: Record<string, string> },
): Promise<{ keyId: string; publicId: string; token: string }> {
  const created = await app.get(CommandBus).execute(new CreateKeyCommand(input, { actor: SYSTEM_ACTOR, requestId: 'bench' }));
  if (!created.token) throw new Error('the create command returned no token');
  return { keyId: created.view.id, publicId: created.view.publicId, token: created.token };
}
