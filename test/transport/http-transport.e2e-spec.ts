import { connect } from 'node:net';
import type { Pool } from 'pg';
import request, { type Response } from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { countTenantEvents, createKey, Secrets } from '../keys/helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';

/** One raw HTTP/1.1 exchange, bytes as given: for requests a client library would refuse or fix up. */
function rawHttp(url: string, head: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${head}\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [top, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = top.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

/** The one error shape, with nothing of the framework in it. */
function expectPlainError(status: number, headers: Record<string, string>, text: string, wanted: number): void {
  expect(status).toBe(wanted);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['code', 'message', 'statusCode']);
  expect(body.statusCode).toBe(wanted);
  expect(body.code).not.toMatch(/FST_|fastify/i);
  expect(body.message).not.toMatch(/FST_|fastify/i);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
}

const expectPlain = (res: Response, wanted: number): void => expectPlainError(res.status, res.headers, res.text, wanted);

describe('HTTP transport: one error shape, the headers every response needs, JSON only', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  const secrets = new Secrets();

  beforeAll(async () => {
    sut = await createTestApp({}, undefined, { httpLog: true });
    pool = testPool(2);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  describe("Fastify's and node's own refusals use the one error shape, without framework names", () => {
    it('an over-long path parameter is a 414', async () => {
      expectPlain(
        await request(sut.url)
          .get(`/admin/api-keys/${'a'.repeat(150)}`)
          .set(bearer(admin.token)),
        414,
      );
    });

    it('a URL that does not decode is a 400 that does not quote it', async () => {
      const res = await rawHttp(sut.url, `GET /admin/api-keys/%E0%A4%A HTTP/1.1\r\nx-api-key: ${admin.token}`);
      expectPlainError(res.status, res.headers, res.body, 400);
      expect(res.body).not.toContain('%E0');
    });

    it('headers over the size limit are a 431', async () => {
      const res = await rawHttp(sut.url, `GET /health HTTP/1.1\r\nx-padding: ${'a'.repeat(20_000)}`);
      expectPlainError(res.status, res.headers, res.body, 431);
    });

    it('a malformed request line is a 400', async () => {
      const res = await rawHttp(sut.url, 'GET /health HTTP/9.x');
      expectPlainError(res.status, res.headers, res.body, 400);
    });

    it('an unknown route is a 404 that does not quote the path', async () => {
      const res = await request(sut.url).get('/no-such-route/hostile-segment');
      expectPlain(res, 404);
      expect(res.text).not.toContain('hostile-segment');
    });

    it('malformed JSON is a 400 that quotes neither the body nor the parser', async () => {
      const res = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .set('content-type', 'application/json')
        .send('{"tenantId": "quoted-back?", "name": ');
      expectPlain(res, 400);
      expect(res.body.message).toMatch(/JSON/);
      expect(res.text).not.toContain('quoted-back');
    });

    it('a body over the limit is a 413', async () => {
      expectPlain(
        await request(sut.url)
          .post('/admin/api-keys')
          .set(bearer(admin.token))
          .send({ tenantId: 't', name: 'x'.repeat(300 * 1024) }),
        413,
      );
    });
  });

  describe('only application/json bodies', () => {
    it.each([
      ['form-encoded', 'application/x-www-form-urlencoded', (t: string) => `tenantId=${t}&name=x`],
      ['text/plain', 'text/plain', (t: string) => JSON.stringify({ tenantId: t, name: 'x' })],
      ['JSON sent as text/json', 'text/json', (t: string) => JSON.stringify({ tenantId: t, name: 'x' })],
      [
        'multipart',
        'multipart/form-data; boundary=x',
        (t: string) => `--x\r\nContent-Disposition: form-data; name="tenantId"\r\n\r\n${t}\r\n--x--\r\n`,
      ],
    ])('a %s body is a 415 and creates nothing', async (_, type, body) => {
      const tenantId = uniqueTenant();
      const res = await request(sut.url).post('/admin/api-keys').set(bearer(admin.token)).set('content-type', type).send(body(tenantId));
      expectPlain(res, 415);
      expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(res.text).not.toContain(type.split(';')[0]);
      expect(await countTenantEvents(pool, tenantId)).toBe(0);
    });

    it('accepts application/json with a charset, and the answer that carries the secret is no-store', async () => {
      const tenantId = uniqueTenant();
      const res = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .set('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ tenantId, name: 'x' }))
        .expect(201);
      secrets.track(res);
      expect(res.headers['cache-control']).toBe('no-store');
    });
  });

  describe('headers', () => {
    it('every response carries nosniff, no-store and the request id: success, refusal and error alike', async () => {
      const responses = await Promise.all([
        request(sut.url).get('/admin/api-keys').set(bearer(admin.token)),
        request(sut.url).get('/admin/api-keys'),
        request(sut.url).get('/admin/api-keys/not-a-key').set(bearer(admin.token)),
        request(sut.url).get('/health/live'),
        request(sut.url).get('/nowhere'),
      ]);
      expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 200, 404]);
      for (const res of responses) {
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      }
    });

    it('create and rotate, which carry a secret, are no-store; the request id sent is the one returned and recorded', async () => {
      const created = await createKey(
        sut,
        secrets,
        admin.token,
        { tenantId: uniqueTenant(), name: 'secret carrier' },
        { 'x-request-id': 'req-transport-1' },
      );
      const rotated = secrets.track(
        await request(sut.url).post(`/admin/api-keys/${created.id}/rotate`).set(bearer(admin.token)).send({}).expect(200),
      );
      expect(rotated.headers['cache-control']).toBe('no-store');
      const again = await request(sut.url)
        .get(`/admin/api-keys/${created.id}`)
        .set(bearer(admin.token))
        .set('x-request-id', 'req-transport-2')
        .expect(200);
      expect(again.headers['x-request-id']).toBe('req-transport-2');
      const { rows } = await pool.query<{ request_id: string }>(
        `SELECT metadata->>'requestId' AS request_id FROM events WHERE stream_id = $1 ORDER BY stream_version`,
        [`key-${created.id}`],
      );
      expect(rows[0].request_id).toBe('req-transport-1');
      expect(rows[1].request_id).toBe(rotated.headers['x-request-id']);
    });

    it('the console keeps its own security headers and caching', async () => {
      const res = await request(sut.url).get('/console/');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.headers['x-frame-options']).toBe('DENY');
      // `npm test` builds the console first: the shell is there and names its script.
      expect(res.status).toBe(200);
      const asset = /\/console\/assets\/[^"]+\.js/.exec(res.text)?.[0];
      expect(asset).toBeDefined();
      const cached = await request(sut.url).get(asset!).expect(200);
      expect(cached.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(cached.headers['x-content-type-options']).toBe('nosniff');
    });
  });

  describe('error messages never echo input', () => {
    it.each(["';--", '<script>alert(1)</script>', 'DROP TABLE events', 'AAAAAAAAAAAA'])('a hostile id %j is not in the 404', async (id) => {
      for (const res of [
        await request(sut.url)
          .get(`/admin/api-keys/${encodeURIComponent(id)}`)
          .set(bearer(admin.token)),
        await request(sut.url)
          .post(`/admin/api-keys/${encodeURIComponent(id)}/revoke`)
          .set(bearer(admin.token))
          .send({}),
      ]) {
        expectErrorShape(res, 404, 'KEY.NOT_FOUND');
        expect(res.body.message).toBe('No API key with that id was found');
        expect(res.text).not.toContain(id.slice(0, 6));
      }
    });

    it("the console's 404s quote neither the asset name nor the path", async () => {
      for (const path of ['/console/assets/hostile-asset-name.js', '/console/api/hostile-api-path']) {
        const res = await request(sut.url).get(path);
        expectErrorShape(res, 404, 'NOT_FOUND');
        expect(res.text).not.toContain('hostile');
      }
    });

    it('a tenant, a scope or a tag the caller sent is not quoted back', async () => {
      const manager = await issueUsableKey(sut, { tenantId: uniqueTenant(), scopes: ['keys:manage'] }, { secrets });
      const refused = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(manager.token))
        .send({ tenantId: 'other-tenant-xyz', name: 'n' });
      expectErrorShape(refused, 403);
      const badScope = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .send({ tenantId: uniqueTenant(), name: 'n', scopes: ['ok:read', 'Echo Me'] });
      expectErrorShape(badScope, 400);
      const badTag = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .send({ tenantId: uniqueTenant(), name: 'n', tags: { 'echo-me': 5 } });
      expectErrorShape(badTag, 400);
      expect(refused.text).not.toContain('other-tenant-xyz');
      expect(badScope.text).not.toContain('Echo Me');
      expect(JSON.stringify(badTag.body.message)).not.toContain('echo-me');
    });
  });

  it('redacts a key in the query string however it is encoded', async () => {
    const victim = await issueUsableKey(sut, {}, { secrets });
    const t = victim.token;
    const encodings = [
      encodeURIComponent(t).replace(/_/g, '%5F'), // percent-encoded underscores
      t.replace(/_/g, '%5f'), // lower-case hex
      t.replace(/_/g, '%5F').replace(/k/g, '%6B').replace(/l/g, '%6c'), // mixed case, letters encoded too
      t.replace(/_/g, '%255F'), // encoded twice
      [...t].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join(''), // every character
    ];
    for (const encoded of encodings) {
      await request(sut.url).get(`/examples/whoami?key=${encoded}&q=a+b`).expect(401);
      await request(sut.url).get(`/no-such-route/${encoded}`).expect(404);
    }
    const log = sut.httpLog();
    expect(log).toContain('[redacted key]');
    expect(log).toContain('q=a+b');
    for (const encoded of encodings) expect(log).not.toContain(encoded);
    expect(log).not.toContain(t.slice(-34, -6));
    expect(log).not.toContain(
      t
        .slice(-34, -6)
        .replace(/./g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
        .slice(0, 30),
    );
  });
});
