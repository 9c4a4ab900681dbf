import { ArgumentsHost, Catch, Controller, Get, Module, type ExceptionFilter, type INestApplication } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
// A sibling service imports the package's public surface, its one entry point.
import { ApiKeyAuthModule, ApiKeyErrorFilter, CurrentApiKey, Public, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { createTestApp, issueKey, TEST_PEPPER, type TestApp } from '../support/test-app.js';
import { testDatabaseUrl } from '../support/test-database.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';

/**
 * The separate service of docs/guard.md §2, written exactly as the doc shows (only the listening
 * port differs, and Nest's logger is off). It has no keyledger code but `ApiKeyAuthModule`, no
 * error filter of its own, and only the registry's database URL and pepper.
 */
function siblingAppModule(): new () => object {
  // ---- reports.controller.ts (docs/guard.md) ----
  @Controller()
  class ReportsController {
    /** Needs a valid key holding reports:read. */
    @Get('reports')
    @RequireApiKey({ scopes: ['reports:read'] })
    reports(@CurrentApiKey() key: ApiKeyPrincipal): { tenantId: string; region: string | null; key: ApiKeyPrincipal } {
      // Tags are bound to the key in the registry: the client cannot set or override them.
      return { tenantId: key.tenantId, region: key.tags.region ?? null, key };
    }

    /** No decorator: with guardAllRoutes it still needs a valid key (any scopes). */
    @Get('me')
    me(@CurrentApiKey() key: ApiKeyPrincipal): ApiKeyPrincipal {
      return key;
    }

    /** Opted out of guardAllRoutes. */
    @Get('ping')
    @Public()
    ping(): { ok: true } {
      return { ok: true };
    }
  }

  // ---- app.module.ts (docs/guard.md) ----
  function required(name: string): string {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  }

  @Module({
    imports: [
      ApiKeyAuthModule.forRoot({
        databaseUrl: required('KEYLEDGER_DATABASE_URL'), // the registry's DATABASE_URL (its primary)
        pepper: required('KEYLEDGER_KEY_PEPPER'), // the registry's KEY_PEPPER
        guardAllRoutes: true, // every route needs a key unless marked @Public()
      }),
    ],
    controllers: [ReportsController],
  })
  class AppModule {}

  return AppModule;
}

// ---- main.ts (docs/guard.md), on each platform ----
const bootstraps: [string, (module: new () => object) => Promise<INestApplication>][] = [
  [
    'Fastify',
    async (AppModule) => {
      const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: false });
      app.enableShutdownHooks(); // on SIGTERM, closes the LISTEN connection and the pool
      await app.listen(0, '127.0.0.1');
      return app;
    },
  ],
  [
    'Express',
    async (AppModule) => {
      const app = await NestFactory.create<NestExpressApplication>(AppModule, new ExpressAdapter(), { logger: false });
      app.enableShutdownHooks();
      await app.listen(0, '127.0.0.1');
      return app;
    },
  ],
];

const urlOf = (app: INestApplication): string => `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;

describe('a separate NestJS service, written only from docs/guard.md', () => {
  let registry: TestApp;
  let admin: string;

  beforeAll(async () => {
    // What the sibling's deployment is given: the registry's DATABASE_URL and KEY_PEPPER.
    process.env.KEYLEDGER_DATABASE_URL = testDatabaseUrl();
    process.env.KEYLEDGER_KEY_PEPPER = TEST_PEPPER;
    registry = await createTestApp();
    admin = (await issueKey(registry.app, { scopes: ['admin'] })).token;
  });
  afterAll(async () => {
    await registry?.close();
    delete process.env.KEYLEDGER_DATABASE_URL;
    delete process.env.KEYLEDGER_KEY_PEPPER;
  });

  describe.each(bootstraps)('on %s', (platform, bootstrap) => {
    let sibling: INestApplication;
    let url: string;

    beforeAll(async () => {
      sibling = await bootstrap(siblingAppModule());
      url = urlOf(sibling);
    });
    afterAll(() => sibling?.close());

    /** Issues a key in the registry; the sibling accepts it at its first request (it looks it up). */
    async function keyUsableBySibling(input: Parameters<typeof issueKey>[1]): Promise<{ id: string; publicId: string; token: string }> {
      const key = await issueKey(registry.app, input);
      await request(url).get('/me').set(bearer(key.token)).expect(200);
      return key;
    }

    it('has Fastify build each request with the principal field (null) already in it; Express requests are left alone', () => {
      const instance = sibling.get(HttpAdapterHost).httpAdapter.getInstance<{ hasRequestDecorator?: (name: string) => boolean }>();
      expect(instance.hasRequestDecorator?.('apiKey')).toBe(platform === 'Fastify' ? true : undefined);
    });

    it('answers 200 with the typed principal to a valid key holding the scope', async () => {
      const tenantId = uniqueTenant();
      const key = await keyUsableBySibling({ tenantId, scopes: ['reports:read'], tags: { region: 'eu' } });

      const res = await request(url).get('/reports').set(bearer(key.token)).set('x-region', 'us').expect(200);

      expect(res.body).toEqual({
        tenantId,
        region: 'eu',
        key: { keyId: key.id, publicId: key.publicId, tenantId, scopes: ['reports:read'], tags: { region: 'eu' }, expiresAt: null },
      });
      // The other header works too.
      await request(url).get('/reports').set('x-api-key', key.token).expect(200);
    });

    it('answers 403 AUTH.INSUFFICIENT_SCOPE, in the one error shape, to a valid key without the scope', async () => {
      const key = await keyUsableBySibling({ scopes: ['invoices:read'] });
      const res = await request(url).get('/reports').set(bearer(key.token));
      expectErrorShape(res, 403, 'AUTH.INSUFFICIENT_SCOPE');
      expect(res.body.message).toContain('reports:read');
    });

    it('answers 401 AUTH.MISSING_KEY with WWW-Authenticate when no key is sent, and 401 AUTH.MALFORMED to garbage', async () => {
      const missing = await request(url).get('/reports');
      expectErrorShape(missing, 401, 'AUTH.MISSING_KEY');
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="keyledger"');

      const malformed = await request(url).get('/reports').set(bearer('kl_live_not-a-key'));
      expectErrorShape(malformed, 401, 'AUTH.MALFORMED');
      expect(malformed.headers['www-authenticate']).toBe('Bearer realm="keyledger"');
    });

    it('refuses a key revoked through the registry', async () => {
      const key = await keyUsableBySibling({ scopes: ['reports:read'] });

      await request(registry.url).post(`/admin/api-keys/${key.id}/revoke`).set(bearer(admin)).send({ reason: 'leaked' }).expect(200);

      const res = await until(
        'the sibling to refuse the revoked key',
        () => request(url).get('/reports').set(bearer(key.token)),
        (r) => r.status !== 200,
      );
      expectErrorShape(res, 401, 'AUTH.REVOKED');
    });

    it('with guardAllRoutes, protects an undecorated route, and @Public() opts a route out', async () => {
      const key = await keyUsableBySibling({ scopes: [] });

      expectErrorShape(await request(url).get('/me'), 401, 'AUTH.MISSING_KEY');
      const me = await request(url).get('/me').set(bearer(key.token)).expect(200);
      expect(me.body).toMatchObject({ keyId: key.id, publicId: key.publicId, scopes: [] });

      const ping = await request(url).get('/ping').expect(200);
      expect(ping.body).toEqual({ ok: true });
    });
  });

  describe('with its own catch-all exception filter (docs/guard.md, Errors)', () => {
    @Catch()
    class MyCatchAllFilter implements ExceptionFilter {
      catch(_error: unknown, host: ArgumentsHost): void {
        void host.switchToHttp().getResponse<{ status(code: number): { send(body: unknown): void } }>().status(500).send({ mine: true });
      }
    }

    async function start(filters: (app: INestApplication) => ExceptionFilter[]): Promise<INestApplication> {
      const app = await NestFactory.create<NestFastifyApplication>(siblingAppModule(), new FastifyAdapter(), { logger: false });
      app.useGlobalFilters(...filters(app));
      await app.listen(0, '127.0.0.1');
      return app;
    }

    it('keeps 401/403 in the documented shape when ApiKeyErrorFilter is registered after it', async () => {
      const app = await start((a) => [new MyCatchAllFilter(), new ApiKeyErrorFilter(a.get(HttpAdapterHost))]);
      try {
        expectErrorShape(await request(urlOf(app)).get('/reports'), 401, 'AUTH.MISSING_KEY');
      } finally {
        await app.close();
      }
    });

    it('(why the doc says so) is shadowed by an app-wide catch-all filter registered alone', async () => {
      const app = await start(() => [new MyCatchAllFilter()]);
      try {
        const res = await request(urlOf(app)).get('/reports');
        expect([res.status, res.body]).toEqual([500, { mine: true }]);
      } finally {
        await app.close();
      }
    });
  });
});
