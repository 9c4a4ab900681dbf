import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import request, { type Response } from 'supertest';
import { ApiKeyAuthModule, CurrentApiKey, KeyVerifier, RequireApiKey, type ApiKeyPrincipal, type VerificationCode } from '@keyledger/nestjs';
import { issueKey, type TestApp } from '../support/test-app.js';

/** Every test makes its own tenant: files share one database and run in parallel. */
export const uniqueTenant = (): string => `t-${randomUUID()}`;

export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });

/**
 * Calls `probe` until `accept` holds for its result, for at most `timeoutMs`; then fails with the
 * last result. Changes reach a replica asynchronously (NOTIFY, reconnect, resync): the tests wait
 * on the condition itself, never on a fixed sleep.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  { timeoutMs = 5000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

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

/**
 * Issues a key through the command bus; `on` (default: the issuing app) accepts it at once: the
 * issuing app applied it before answering, another looks it up at its first use (docs/guard.md).
 */
export async function issueUsableKey(
  sut: TestApp,
  input: Parameters<typeof issueKey>[1] = {},
  on: TestApp = sut,
): Promise<{ id: string; publicId: string; token: string }> {
  const key = await issueKey(sut.app, input);
  expect((await verifierOf(on).check(key.token)).code).toBe('VALID');
  return key;
}

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

/** Asserts keyledger's one error shape, `{ statusCode, code, message, details? }`. */
export function expectErrorShape(res: Response, status: number, code?: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as Record<string, unknown>;
  for (const key of Object.keys(body)) expect(['statusCode', 'code', 'message', 'details']).toContain(key);
  expect(body.statusCode).toBe(status);
  expect(typeof body.code).toBe('string');
  if (code !== undefined) expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  expect((body.message as string).length).toBeGreaterThan(10);
}

/**
 * A minimal service guarded by ApiKeyAuthModule alone (Fastify, GET /me needs a key), on
 * `databaseUrl` with `pepper`, as a sibling service is deployed. `init` only: no port, no listen,
 * for tests of start-up itself.
 */
export async function startGuardApp(databaseUrl: string, pepper: string | undefined, { listen = true } = {}): Promise<{ app: INestApplication; url: string }> {
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

  const app = await NestFactory.create<NestFastifyApplication>(GuardAppModule, new FastifyAdapter(), { logger: false, abortOnError: false });
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
