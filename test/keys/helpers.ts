import type { Pool } from 'pg';
import request, { type Response } from 'supertest';
import { bearer } from '../support/http.js';
import type { IssuedKey } from '../support/keys.js';
import type { TestApp } from '../support/test-app.js';

/**
 * Runs `fn` while no expiry sweeper on this database can run: it holds the sweeper's advisory lock,
 * exactly as a sweeping instance would. For assertions that a key is refused at its deadline while
 * no KeyExpired exists yet (other test files' apps share the database and sweep on a timer).
 */
export async function withSweeperPaused<T>(pool: Pool, fn: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('keyledger.expiry-sweeper'))`);
    return await fn();
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext('keyledger.expiry-sweeper'))`).catch(() => undefined);
    client.release();
  }
}

/** A token's shape whatever its prefix (`<prefix>_<publicId 12>_<secret 28 + checksum 6>`). */
const TOKEN_SHAPE = /[a-z][a-z0-9]*(?:_[a-z0-9]+)*_[0-9A-Za-z]{12}_[0-9A-Za-z]{34}/g;

/** The 28 characters between the publicId and the checksum: the part that must never be stored. */
export const secretPart = (token: string): string => token.slice(-34, -6);

/** Every plaintext key a test file was given, so the file can prove at its end that none leaked. */
export class Secrets {
  readonly tokens = new Set<string>();

  add(token: string | null | undefined): string {
    if (typeof token !== 'string' || token.length === 0) throw new Error(`expected a plaintext key, got ${JSON.stringify(token)}`);
    this.tokens.add(token);
    return token;
  }

  /** Records any key in a response body (create and rotate responses carry one). */
  track(res: Response): Response {
    for (const match of res.text.matchAll(TOKEN_SHAPE)) this.tokens.add(match[0]);
    return res;
  }
}

/**
 * Asserts the guard of `sut` accepts the key at once: the instance that committed it applied it
 * before answering, and any other instance looks a key it does not know up at its first request
 * (docs/guard.md). No polling: a key that needs a retry is a defect a user would meet.
 */
export async function untilUsable(sut: TestApp, token: string): Promise<void> {
  await request(sut.url).get('/examples/whoami').set(bearer(token)).expect(200);
}

/** POST /admin/api-keys as `admin`, expecting 201; the plaintext is recorded in `secrets`. */
export async function createKey(
  sut: TestApp,
  secrets: Secrets,
  adminToken: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<IssuedKey & { body: Record<string, unknown>; etag: string }> {
  const res = await request(sut.url).post('/admin/api-keys').set(bearer(adminToken)).set(headers).send(body).expect(201);
  const token = secrets.add(res.body.key);
  return { id: res.body.id, publicId: res.body.publicId, token, body: res.body, etag: res.headers.etag };
}

/** The events of one key's stream, straight from the events table. */
export async function streamEvents(
  pool: Pool,
  keyId: string,
): Promise<{ type: string; stream_version: number; payload: Record<string, unknown>; metadata: Record<string, unknown> }[]> {
  const { rows } = await pool.query<{
    type: string;
    stream_version: number;
    payload: Record<string, unknown>;
    metadata: Record<string, unknown>;
  }>(`SELECT type, stream_version, payload, metadata FROM events WHERE stream_id = 'key-' || $1 ORDER BY stream_version`, [keyId]);
  return rows;
}

export async function countStreamEvents(pool: Pool, keyId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE stream_id = 'key-' || $1`, [keyId]);
  return rows[0].n;
}

/** Events that name the tenant in their payload: how a refused create proves it wrote nothing. */
export async function countTenantEvents(pool: Pool, tenantId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE payload->>'tenantId' = $1`, [tenantId]);
  return rows[0].n;
}

/**
 * The end-of-file check: no plaintext key this file saw, nor its secret part, is in the app's log
 * lines, anywhere in the events table or in the api_keys read model.
 */
export async function expectNoSecretLeaks(sut: TestApp, pool: Pool, secrets: Secrets): Promise<void> {
  expect(secrets.tokens.size).toBeGreaterThan(0);
  const events = await pool.query<{ payload: string; metadata: string }>(
    'SELECT payload::text AS payload, metadata::text AS metadata FROM events',
  );
  const keys = await pool.query<{ row: string }>('SELECT k::text AS row FROM api_keys k');
  const places = {
    logs: sut.logs.join('\n'),
    events: events.rows.map((r) => `${r.payload}\n${r.metadata}`).join('\n'),
    api_keys: keys.rows.map((r) => r.row).join('\n'),
  };
  const leaks: string[] = [];
  for (const token of secrets.tokens) {
    const publicId = token.slice(-47, -35);
    // The haystack is real: the key's row (found by its publicId) is there, only its secret is not.
    expect(places.api_keys).toContain(publicId);
    for (const [place, text] of Object.entries(places)) {
      if (text.includes(token)) leaks.push(`${place}: key ${publicId}`);
      else if (text.includes(secretPart(token))) leaks.push(`${place}: secret of key ${publicId}`);
    }
  }
  expect(leaks).toEqual([]);
}
