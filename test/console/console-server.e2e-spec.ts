import { request as httpRequest } from 'node:http';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { issueUsableKey } from '../support/keys.js';
import { until } from '../support/poll.js';
import { bearer } from '../support/http.js';

interface TailData {
  position: number;
  type: string;
  keyId: string | null;
  publicId: string | null;
  tenantId: string | null;
  name: string | null;
  actor: { type: string; id: string } | null;
}

interface TailMessage {
  id: string | null;
  event: string;
  /** The JSON data: a TailData for `key-event`, an error body for `http-error`, `{}` otherwise. */
  data: TailData;
}

/** A Server-Sent Events reader over fetch, as the console's own client does it (the key in a header). */
function openTail(
  app: TestApp,
  token: string | null,
  headers: Record<string, string> = {},
): {
  status: Promise<number>;
  messages: TailMessage[];
  waitFor(predicate: (m: TailMessage) => boolean, timeoutMs?: number): Promise<TailMessage>;
  ended: Promise<void>;
  close(): void;
} {
  const controller = new AbortController();
  const messages: TailMessage[] = [];
  let resolveStatus!: (status: number) => void;
  const status = new Promise<number>((resolve) => (resolveStatus = resolve));
  const ended = (async () => {
    const res = await fetch(`${app.url}/console/api/audit/tail`, {
      headers: { accept: 'text/event-stream', ...(token ? { 'x-api-key': token } : {}), ...headers },
      signal: controller.signal,
    });
    resolveStatus(res.status);
    if (res.status !== 200 || !res.body) {
      messages.push({ id: null, event: 'http-error', data: (await res.json()) as TailData });
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: TailMessage = { id: null, event: 'message', data: {} as TailData };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) message.id = line.slice(4);
            else if (line.startsWith('event: ')) message.event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length === 0) continue;
          message.data = JSON.parse(data.join('\n')) as TailData;
          messages.push(message);
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  const waitFor = async (predicate: (m: TailMessage) => boolean, timeoutMs = 5000): Promise<TailMessage> => {
    await until('a tail message that matches', () => messages.some(predicate), { timeoutMs, intervalMs: 10 });
    return messages.find(predicate)!;
  };
  return { status, messages, waitFor, ended, close: () => controller.abort() };
}

function rawGet(
  app: TestApp,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${app.url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function create(app: TestApp, token: string, tenantId: string, name: string): Promise<{ id: string; publicId: string }> {
  const res = await fetch(`${app.url}/admin/api-keys`, {
    method: 'POST',
    headers: { 'x-api-key': token, 'content-type': 'application/json' },
    body: JSON.stringify({ tenantId, name }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; publicId: string };
}

describe('console server: static files, session and the live tail', () => {
  let sut: TestApp;
  let admin: { id: string; token: string };
  const tenantA = `tail-a-${Date.now().toString(36)}`;
  const tenantB = `tail-b-${Date.now().toString(36)}`;

  beforeAll(async () => {
    sut = await createTestApp();
    admin = await issueUsableKey(sut, { tenantId: 'platform', name: 'tail admin', scopes: ['admin'] });
  });

  afterAll(async () => {
    await sut?.close();
  });

  describe('static files', () => {
    it('sends the app shell for every console route, never cached, with the CSP', async () => {
      for (const path of [
        '/console',
        '/console/',
        '/console/keys',
        '/console/keys/5f0c6a49-0000-4000-8000-000000000000',
        '/console/audit',
      ]) {
        const res = await rawGet(sut, path, {});
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
        expect(res.body.toString()).toContain('<div id="app">');
      }
    });

    it('sends hashed assets precompressed as the client accepts, immutable, with ETag revalidation', async () => {
      const html = (await rawGet(sut, '/console', {})).body.toString();
      const script = /<script[^>]*src="([^"]+)"/.exec(html)![1];
      expect(script).toMatch(/^\/console\/assets\/app-[A-Z0-9]+\.js$/);
      const plain = await rawGet(sut, script, {});
      const br = await rawGet(sut, script, { 'accept-encoding': 'gzip, deflate, br' });
      const gzip = await rawGet(sut, script, { 'accept-encoding': 'gzip;q=1, br;q=0' });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(br.headers['content-encoding']).toBe('br');
      expect(gzip.headers['content-encoding']).toBe('gzip');
      expect(br.body.length).toBeLessThan(plain.body.length);
      expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(plain.headers.vary).toBe('Accept-Encoding');
      const again = await rawGet(sut, script, { 'if-none-match': String(plain.headers.etag) });
      expect(again.status).toBe(304);
    });

    it('answers an unknown asset or console API path with a 404, not the app shell', async () => {
      expect((await rawGet(sut, '/console/assets/app-NOPE.js', {})).status).toBe(404);
      const api = await rawGet(sut, '/console/api/nope', {});
      expect(api.status).toBe(404);
      expect(JSON.parse(api.body.toString())).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    });
  });

  describe('GET /console/api/session', () => {
    it('describes the signed-in key; tenant-bound keys are not admin', async () => {
      const operator = await issueUsableKey(sut, { tenantId: tenantA, name: 'operator', scopes: ['keys:manage'] });
      const res = await fetch(`${sut.url}/console/api/session`, { headers: bearer(operator.token) });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({
        keyId: operator.id,
        publicId: operator.publicId,
        name: 'operator',
        tenantId: tenantA,
        scopes: ['keys:manage'],
        expiresAt: null,
        admin: false,
        canManageKeys: true,
        canReadAudit: false,
        canManageWebhooks: false,
      });
    });

    it('lets a webhooks:manage-only key in, for the webhooks page alone', async () => {
      const hooks = await issueUsableKey(sut, { tenantId: tenantA, name: 'hooks', scopes: ['webhooks:manage'] });
      const res = await fetch(`${sut.url}/console/api/session`, { headers: bearer(hooks.token) });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ admin: false, canManageKeys: false, canReadAudit: false, canManageWebhooks: true });
      const everything = await fetch(`${sut.url}/console/api/session`, { headers: bearer(admin.token) });
      expect(await everything.json()).toMatchObject({ admin: true, canManageKeys: true, canReadAudit: true, canManageWebhooks: true });
    });

    it('refuses a missing key (401) and a key with none of the console scopes (403)', async () => {
      expect((await fetch(`${sut.url}/console/api/session`)).status).toBe(401);
      const reader = await issueUsableKey(sut, { tenantId: tenantA, scopes: ['reports:read'] });
      const res = await fetch(`${sut.url}/console/api/session`, { headers: { 'x-api-key': reader.token } });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'CONSOLE.FORBIDDEN' });
    });
  });

  describe('GET /console/api/audit/tail (Server-Sent Events)', () => {
    it('takes the key from a header only: none, or one in the query string, is a 401', async () => {
      const none = openTail(sut, null);
      expect(await none.status).toBe(401);
      const res = await fetch(
        `${sut.url}/console/api/audit/tail?apiKey=${encodeURIComponent(admin.token)}&x-api-key=${encodeURIComponent(admin.token)}`,
      );
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'AUTH.MISSING_KEY' });
    });

    it('needs audit:read (a keys:manage-only key is a 403)', async () => {
      const operator = await issueUsableKey(sut, { tenantId: tenantA, scopes: ['keys:manage'] });
      const tail = openTail(sut, operator.token);
      expect(await tail.status).toBe(403);
    });

    it("streams each appended event to an admin, and to a tenant's audit:read key only its own tenant's", async () => {
      const auditorA = await issueUsableKey(sut, { tenantId: tenantA, name: 'auditor a', scopes: ['audit:read'] });
      const adminTail = openTail(sut, admin.token);
      const tenantTail = openTail(sut, auditorA.token);
      try {
        expect(await adminTail.status).toBe(200);
        expect(await tenantTail.status).toBe(200);
        await adminTail.waitFor((m) => m.event === 'ready');
        await tenantTail.waitFor((m) => m.event === 'ready');

        const inB = await create(sut, admin.token, tenantB, 'secret project of b');
        const inA = await create(sut, admin.token, tenantA, 'visible to a');

        const seenByAdminB = await adminTail.waitFor((m) => m.event === 'key-event' && m.data.keyId === inB.id);
        await adminTail.waitFor((m) => m.event === 'key-event' && m.data.keyId === inA.id);
        const seenByA = await tenantTail.waitFor((m) => m.event === 'key-event' && m.data.keyId === inA.id);
        expect(seenByA.data).toMatchObject({
          type: 'key.created',
          keyId: inA.id,
          publicId: inA.publicId,
          tenantId: tenantA,
          name: 'visible to a',
          actor: { type: 'api-key', id: admin.id },
        });
        expect(seenByA.id).toBe(String(seenByA.data.position));
        expect(seenByAdminB.data.tenantId).toBe(tenantB);

        // Tenant A got its own event, which was appended after B's: B's would have come first.
        const leaked = tenantTail.messages.filter((m) => m.event === 'key-event' && m.data.tenantId !== tenantA);
        expect(leaked).toEqual([]);
        expect(JSON.stringify(tenantTail.messages)).not.toContain(inB.id);
        expect(JSON.stringify(tenantTail.messages)).not.toContain('secret project of b');
      } finally {
        adminTail.close();
        tenantTail.close();
      }
    });

    it('replays what a reconnecting client missed after its Last-Event-ID, within the tenant boundary', async () => {
      const auditorA = await issueUsableKey(sut, { tenantId: tenantA, scopes: ['audit:read'] });
      const first = await create(sut, admin.token, tenantA, 'missed one');
      const other = await create(sut, admin.token, tenantB, 'not for a');
      const second = await create(sut, admin.token, tenantA, 'missed two');
      const history = (await (
        await fetch(`${sut.url}/admin/api-keys/${first.id}/events`, { headers: { 'x-api-key': admin.token } })
      ).json()) as { items: { position: number }[] };
      const before = history.items[0].position - 1;
      const tail = openTail(sut, auditorA.token, { 'last-event-id': String(before) });
      try {
        await tail.waitFor((m) => m.event === 'ready');
        const replayed = tail.messages.filter((m) => m.event === 'key-event').map((m) => m.data.keyId);
        expect(replayed).toEqual(expect.arrayContaining([first.id, second.id]));
        expect(replayed).not.toContain(other.id);
        expect(replayed.indexOf(first.id)).toBeLessThan(replayed.indexOf(second.id));
      } finally {
        tail.close();
      }
    });

    it('refuses a Last-Event-ID it never sent (400)', async () => {
      const tail = openTail(sut, admin.token, { 'last-event-id': 'abc' });
      expect(await tail.status).toBe(400);
    });

    it('ends open streams on shutdown, so closing the app never hangs on them', async () => {
      const other = await createTestApp();
      const tail = openTail(other, admin.token);
      expect(await tail.status).toBe(200);
      await tail.waitFor((m) => m.event === 'ready');
      const started = Date.now();
      await other.close();
      await tail.ended;
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(tail.messages.some((m) => m.event === 'bye')).toBe(true);
    });
  });
});
