import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  ApiKeyAuthModule,
  CurrentApiKey,
  KeyVerifier,
  RequireApiKey,
  type ApiKeyPrincipal,
  type VerificationCode,
} from '@keyledger/nestjs';
import { bearer } from '../support/http.js';
import { until } from '../support/poll.js';
import type { TestApp } from '../support/test-app.js';

export const verifierOf = (sut: TestApp): KeyVerifier => sut.app.get(KeyVerifier);

/** The replica's answer for a key, from memory (what the guard would decide). */
export const codeOn = (sut: TestApp, token: string): VerificationCode => verifierOf(sut).verify(token).code;

/** Waits until `sut`'s replica answers `code` for every one of `tokens`. */
export async function untilCodes(sut: TestApp, tokens: readonly string[], code: VerificationCode, timeoutMs = 5000): Promise<void> {
  await until(
    `${tokens.length} key(s) to be ${code} on one instance`,
    () => tokens.map((token) => codeOn(sut, token)).filter((c) => c !== code),
    (wrong) => wrong.length === 0,
    { timeoutMs },
  );
}

export const whoami = (sut: TestApp, token: string): request.Test => request(sut.url).get('/examples/whoami').set(bearer(token));

/** POST /admin/api-keys/:id/revoke through `sut`'s HTTP API. */
export async function revokeOver(sut: TestApp, adminToken: string, keyId: string): Promise<void> {
  await request(sut.url).post(`/admin/api-keys/${keyId}/revoke`).set(bearer(adminToken)).send({ reason: 'test' }).expect(200);
}

/** Runs `task` over `items`, at most `concurrency` at a time. */
export async function inParallel<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * A minimal service guarded by ApiKeyAuthModule alone (Fastify, GET /me needs a key), on
 * `databaseUrl` with `pepper`, as a sibling service is deployed. `init` only: no port, no listen,
 * for tests of start-up itself.
 */
export async function startGuardApp(
  databaseUrl: string,
  pepper: string | undefined,
  { listen = true } = {},
): Promise<{ app: INestApplication; url: string }> {
  @Controller()
  class MeController {
    @Get('me')
    @RequireApiKey()
    me(@CurrentApiKey() key: ApiKeyPrincipal): ApiKeyPrincipal {
      return key;
    }
  }
  @Module({ imports: [ApiKeyAuthModule.forRoot({ databaseUrl, pepper })], controllers: [MeController] })
  class GuardAppModule {}

  const app = await NestFactory.create<NestFastifyApplication>(GuardAppModule, new FastifyAdapter(), {
    logger: false,
    abortOnError: false,
  });
  if (!listen) {
    try {
      await app.init();
    } catch (error) {
      await app.close().catch(() => undefined); // its verifier already ended its pool
      throw error;
    }
    return { app, url: '' };
  }
  await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}` };
}
