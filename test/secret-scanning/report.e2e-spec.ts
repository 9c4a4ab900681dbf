import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import request from 'supertest';
import { PG_POOL } from '../../src/database/index.js';
import { generateToken } from '../../src/token/index.js';
import { whoami } from '../guard/guard-helpers.js';
import { bearer, expectErrorShape, expectValidationError } from '../support/http.js';
import { issueUsableKey, uniqueTenant, type IssuedKey } from '../support/keys.js';
import { until } from '../support/poll.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * docs/guard.md: a revocation reaches every other instance "within milliseconds of the commit"
 * (bench:propagation holds its p99 to 25 ms). This file allows 1 s for a shared 2-core machine
 * running other suites; the instance that answered refuses the key when the answer arrives.
 */
const PROPAGATION_BOUND_MS = 1000;
const REPORT = '/v1/secret-scanning/report';

interface SigningKey {
  id: string;
  privateKey: KeyObject;
  pem: string;
}

function signingKey(id: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { id, privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The file as GitHub publishes it at https://api.github.com/meta/public_keys/secret_scanning. */
function writeKeysFile(file: string, keys: SigningKey[]): void {
  writeFileSync(
    file,
    JSON.stringify({ public_keys: keys.map((k, i) => ({ key_identifier: k.id, key: k.pem, is_current: i === 0 })) }, null, 2),
  );
}

/** A report as GitHub sends it: the exact body bytes, signed with ECDSA P-256 / SHA-256, DER, base64. */
function report(sut: TestApp, body: string, key: SigningKey | null, signer: KeyObject | undefined = key?.privateKey): request.Test {
  const req = request(sut.url).post(REPORT).set('content-type', 'application/json');
  if (key !== null && signer !== undefined) {
    req
      .set('Github-Public-Key-Identifier', key.id)
      .set('Github-Public-Key-Signature', sign('sha256', Buffer.from(body), { key: signer, dsaEncoding: 'der' }).toString('base64'));
  }
  return req.send(body);
}

const match = (token: string, url = 'https://github.com/octocat/app/blob/abc123/.env'): Record<string, string> => ({
  token,
  type: 'keyledger_api_key',
  url,
  source: 'content',
});

describe('POST /v1/secret-scanning/report (GitHub secret-scanning partner reports)', () => {
  const dir = makeTestTempDir();
  const keysFile = join(dir, 'secret-scanning-keys.json');
  const github = signingKey('90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a');
  const older = signingKey('bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c');
  const stranger = signingKey('ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff');
  let a: TestApp;
  let b: TestApp;
  let pool: Pool;
  let admin: string;

  beforeAll(async () => {
    writeKeysFile(keysFile, [github, older]);
    [a, b] = await Promise.all([
      createTestApp({ SECRET_SCANNING_KEYS_FILE: keysFile }),
      createTestApp({ SECRET_SCANNING_KEYS_FILE: keysFile, SECRET_SCANNING_RATE_LIMIT: '3' }),
    ]);
    pool = a.app.get<Pool>(PG_POOL);
    admin = (await issueUsableKey(a, { scopes: ['admin'] })).token;
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  type StoredEvent = { type: string; payload: Record<string, unknown>; metadata: Record<string, unknown> };
  const eventsOf = async (key: IssuedKey): Promise<StoredEvent[]> =>
    (
      await pool.query<StoredEvent>('SELECT type, payload, metadata FROM events WHERE stream_id = $1 ORDER BY stream_version', [
        `key-${key.id}`,
      ])
    ).rows;
  const labels = (res: request.Response): string[] => (res.body as { label: string }[]).map((r) => r.label);

  it('revokes a reported key at once, and every instance refuses it within the propagation bound', async () => {
    const key = await issueUsableKey(a);
    await whoami(b, key.token).expect(200);
    const body = JSON.stringify([match(key.token, 'https://github.com/octocat/app/blob/abc123/config.yml')]);

    const res = await report(a, body, github).expect(200);
    const answered = Date.now();

    expect(res.body).toEqual([{ token_raw: key.token, token_type: 'keyledger_api_key', label: 'true_positive' }]);
    expectErrorShape(await whoami(a, key.token), 401, 'AUTH.REVOKED');
    const refused = await until(
      'B to refuse the reported key',
      () => whoami(b, key.token),
      (r) => r.status !== 200,
      { timeoutMs: PROPAGATION_BOUND_MS },
    );
    expectErrorShape(refused, 401, 'AUTH.REVOKED');
    expect(Date.now() - answered).toBeLessThanOrEqual(PROPAGATION_BOUND_MS);
    const revoked = (await eventsOf(key)).at(-1)!;
    expect(revoked.type).toBe('key.revoked');
    expect(revoked.payload).toMatchObject({
      reasonCode: 'leaked',
      sourceUrl: 'https://github.com/octocat/app/blob/abc123/config.yml',
      reason: expect.stringMatching(/GitHub secret scanning \(content\)/),
    });
    expect(revoked.metadata.actor).toEqual({ type: 'system', id: 'system:secret-scanning' });
    expect(JSON.stringify(revoked)).not.toContain(key.token);
  });

  it('accepts a report signed with any key in the file, not only the current one', async () => {
    const key = await issueUsableKey(a);
    await report(a, JSON.stringify([match(key.token)]), older).expect(200);
    expectErrorShape(await whoami(a, key.token), 401, 'AUTH.REVOKED');
  });

  it("revokes a key whose previous secret leaked while the rotation's grace period still lets it in", async () => {
    const key = await issueUsableKey(a);
    await request(a.url).post(`/admin/api-keys/${key.id}/rotate`).set(bearer(admin)).send({ gracePeriodSeconds: 3600 }).expect(200);
    await whoami(a, key.token).expect(200); // the old secret still works during the grace period

    const res = await report(a, JSON.stringify([match(key.token)]), github).expect(200);

    expect(labels(res)).toEqual(['true_positive']);
    expectErrorShape(await whoami(a, key.token), 401, 'AUTH.REVOKED');
  });

  it('labels a revoked or expired key true_positive without revoking it again', async () => {
    const key = await issueUsableKey(a);
    const body = JSON.stringify([match(key.token)]);
    await report(a, body, github).expect(200);
    const before = await eventsOf(key);

    const again = await report(a, body, github).expect(200);

    expect(again.body).toEqual([{ token_raw: key.token, token_type: 'keyledger_api_key', label: 'true_positive' }]);
    expect(await eventsOf(key)).toEqual(before);
  });

  it('answers false_positive for a look-alike, an unknown key and a wrong secret, and changes nothing', async () => {
    const key = await issueUsableKey(a);
    const badChecksum = key.token.slice(0, -1) + (key.token.endsWith('A') ? 'B' : 'A');
    const unknown = generateToken().token;
    const wrongSecret = generateToken('kl_live', key.publicId).token;
    const body = JSON.stringify([match(badChecksum), match(unknown), match(wrongSecret), match('not a token at all')]);

    const res = await report(a, body, github).expect(200);

    expect(labels(res)).toEqual(['false_positive', 'false_positive', 'false_positive', 'false_positive']);
    // GitHub's format and nothing else: no key id, no tenant.
    for (const item of res.body as Record<string, unknown>[]) {
      expect(Object.keys(item).sort()).toEqual(['label', 'token_raw', 'token_type']);
    }
    expect((await eventsOf(key)).map((e) => e.type)).toEqual(['key.created']);
    await whoami(a, key.token).expect(200);
  });

  it('labels each match in a mixed report, in order, and revokes a token named twice once', async () => {
    const key = await issueUsableKey(a);
    const body = JSON.stringify([match(generateToken().token), match(key.token), match(key.token, 'https://gist.github.com/octocat/1')]);

    const res = await report(a, body, github).expect(200);

    expect(labels(res)).toEqual(['false_positive', 'true_positive', 'true_positive']);
    expect((await eventsOf(key)).map((e) => e.type)).toEqual(['key.created', 'key.revoked']);
  });

  describe('refuses, in the one error shape, and writes no event', () => {
    let key: IssuedKey;
    let body: string;
    beforeAll(async () => {
      key = await issueUsableKey(a);
      body = JSON.stringify([match(key.token)]);
    });
    const signedWith = (identifier: string, signature: string): request.Test =>
      request(a.url)
        .post(REPORT)
        .set('content-type', 'application/json')
        .set('Github-Public-Key-Identifier', identifier)
        .set('Github-Public-Key-Signature', signature);
    afterEach(async () => {
      expect((await eventsOf(key)).map((e) => e.type)).toEqual(['key.created']);
      await whoami(a, key.token).expect(200);
    });

    it('an unsigned report (401)', async () => {
      expectErrorShape(await report(a, body, null), 401, 'SECRET_SCANNING.UNSIGNED');
    });

    it('a report signed by a key that is not in the file (403)', async () => {
      expectErrorShape(await report(a, body, stranger), 403, 'SECRET_SCANNING.BAD_SIGNATURE');
    });

    it("a report signed with another key's private key under GitHub's identifier (403)", async () => {
      expectErrorShape(await report(a, body, github, stranger.privateKey), 403, 'SECRET_SCANNING.BAD_SIGNATURE');
    });

    it('a report whose body changed after signing (403)', async () => {
      const signature = sign('sha256', Buffer.from(body), { key: github.privateKey, dsaEncoding: 'der' }).toString('base64');
      // The same JSON value, one space more: a signature is over the bytes, not the parsed body.
      const res = await signedWith(github.id, signature).send(`${body} `);
      expectErrorShape(res, 403, 'SECRET_SCANNING.BAD_SIGNATURE');
    });

    it('a signature that is not base64 DER (403)', async () => {
      expectErrorShape(await signedWith(github.id, 'bm90IGEgc2lnbmF0dXJl').send(body), 403, 'SECRET_SCANNING.BAD_SIGNATURE');
      expectErrorShape(await signedWith(github.id, '!!').send(body), 403, 'SECRET_SCANNING.BAD_SIGNATURE');
    });
  });

  it("refuses a signed report that is not in GitHub's format (400, field by field)", async () => {
    expectValidationError(await report(a, JSON.stringify({ token: 'x' }), github), 'body');
    expectValidationError(
      await report(a, JSON.stringify([{ token: 1, type: 'x' }, 'nope', { token: 'y', type: 't', url: 'javascript:alert(1)' }]), github),
      '[0].token',
      '[1]',
      '[2].url',
    );
    expectValidationError(await report(a, JSON.stringify([{ token: 'y', type: 't', extra: true }]), github), '[0].extra');
  });

  it('reads the keys file again when it changes, so a refreshed file needs no restart', async () => {
    const rotated = signingKey('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
    const key = await issueUsableKey(a);
    const body = JSON.stringify([match(key.token)]);
    expectErrorShape(await report(a, body, rotated), 403, 'SECRET_SCANNING.BAD_SIGNATURE');

    writeKeysFile(keysFile, [rotated, github]);
    try {
      await report(a, body, rotated).expect(200);
      expectErrorShape(await whoami(a, key.token), 401, 'AUTH.REVOKED');
    } finally {
      writeKeysFile(keysFile, [github, older]);
    }
  });

  it('answers 429 with Retry-After past SECRET_SCANNING_RATE_LIMIT reports a minute from one address, signed or not', async () => {
    const body = JSON.stringify([match(generateToken().token)]);
    for (let i = 0; i < 3; i++) expect((await report(b, body, i === 0 ? null : github)).status).not.toBe(429);

    const limited = await report(b, body, github);

    expectErrorShape(limited, 429, 'SECRET_SCANNING.RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  describe('POST /admin/api-keys/report-leak (a key someone pasted)', () => {
    it('revokes the key for an admin, records the source URL and never echoes the token', async () => {
      const key = await issueUsableKey(a);

      const res = await request(a.url)
        .post('/admin/api-keys/report-leak')
        .set(bearer(admin))
        .send({ token: key.token, sourceUrl: 'https://chat.example.com/c/123' })
        .expect(200);

      expect(res.body).toEqual({ label: 'true_positive', keyId: key.id, publicId: key.publicId, revoked: true });
      expect(res.text).not.toContain(key.token.slice(-20));
      expectErrorShape(await whoami(a, key.token), 401, 'AUTH.REVOKED');
      expect((await eventsOf(key)).at(-1)!.payload).toMatchObject({ reasonCode: 'leaked', sourceUrl: 'https://chat.example.com/c/123' });
    });

    it("gives a tenant manager its own tenant's key, and another tenant's key as a false positive, unchanged", async () => {
      const tenantId = uniqueTenant();
      const manager = (await issueUsableKey(a, { tenantId, scopes: ['keys:manage'] })).token;
      const own = await issueUsableKey(a, { tenantId });
      const other = await issueUsableKey(a);

      const foreign = await request(a.url)
        .post('/admin/api-keys/report-leak')
        .set(bearer(manager))
        .send({ token: other.token })
        .expect(200);
      const mine = await request(a.url).post('/admin/api-keys/report-leak').set(bearer(manager)).send({ token: own.token }).expect(200);

      expect(foreign.body).toEqual({ label: 'false_positive' });
      await whoami(a, other.token).expect(200);
      expect(mine.body).toMatchObject({ label: 'true_positive', revoked: true });
      expectErrorShape(await whoami(a, own.token), 401, 'AUTH.REVOKED');
    });

    it('refuses a caller without keys:manage', async () => {
      const reader = (await issueUsableKey(a, { scopes: ['keys:read'] })).token;
      const key = await issueUsableKey(a);
      expectErrorShape(await request(a.url).post('/admin/api-keys/report-leak').set(bearer(reader)).send({ token: key.token }), 403);
      await whoami(a, key.token).expect(200);
    });
  });
});
