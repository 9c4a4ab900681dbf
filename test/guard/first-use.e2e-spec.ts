import request, { type Response } from 'supertest';
import { generateToken } from '../../src/token/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { verifierOf, whoami } from './guard-helpers.js';
import { bearer } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';

/**
 * The API and the guard agree the moment the API answers (docs/guard.md): on the instance that
 * answered, a created or rotated key works and a revoked or expired one is refused when the
 * response arrives; on any other instance a new key or secret works at its first request. No
 * test here waits or retries: each key is used exactly once, right after the response.
 */
const N = 200;
/** Hundreds of sequential HTTP round trips per test, on a 2-core machine shared with other test files. */
const ROUNDS_TIMEOUT = 180_000;

describe('every key usable from its first request, on every instance', () => {
  let a: TestApp;
  let b: TestApp;
  let admin: string;
  const tenantId = uniqueTenant();

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestApp(), createTestApp()]);
    admin = (await issueUsableKey(a, { scopes: ['admin'] })).token;
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const create = async (on: TestApp): Promise<{ id: string; token: string }> => {
    const res = await request(on.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId, name: 'first use' }).expect(201);
    return { id: res.body.id as string, token: res.body.key as string };
  };

  /** Runs `n` rounds of `round`, returning the statuses of the requests it checked. */
  async function rounds(n: number, round: () => Promise<Response>): Promise<Record<number, number>> {
    const statuses: Record<number, number> = {};
    for (let i = 0; i < n; i++) {
      const { status } = await round();
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    return statuses;
  }

  it(
    `${N} creates, each used at once on the same instance: none refused`,
    async () => {
      expect(await rounds(N, async () => whoami(a, (await create(a)).token))).toEqual({ 200: N });
    },
    ROUNDS_TIMEOUT,
  );

  it.each(['revoke', 'expire'] as const)(
    `${N} %ss, each followed at once by a request on the same instance: none accepted`,
    async (action) => {
      const statuses = await rounds(N, async () => {
        const key = await create(a);
        await request(a.url).post(`/admin/api-keys/${key.id}/${action}`).set(bearer(admin)).send({}).expect(200);
        return whoami(a, key.token);
      });
      expect(statuses).toEqual({ 401: N });
    },
    ROUNDS_TIMEOUT,
  );

  it(
    `${N} creates on A, each used at once on B: none refused`,
    async () => {
      expect(await rounds(N, async () => whoami(b, (await create(a)).token))).toEqual({ 200: N });
    },
    ROUNDS_TIMEOUT,
  );

  it(
    `${N} rotations on A, the new secret used at once on A and on B: none refused`,
    async () => {
      const keys = await Promise.all(Array.from({ length: 20 }, () => create(a)));
      let i = 0;
      const onA = await rounds(N / 2, async () => {
        const key = keys[i++ % keys.length];
        const res = await request(a.url).post(`/admin/api-keys/${key.id}/rotate`).set(bearer(admin)).send({}).expect(200);
        return whoami(a, res.body.key as string);
      });
      const onB = await rounds(N / 2, async () => {
        const key = keys[i++ % keys.length];
        const res = await request(a.url).post(`/admin/api-keys/${key.id}/rotate`).set(bearer(admin)).send({}).expect(200);
        return whoami(b, res.body.key as string);
      });
      expect({ onA, onB }).toEqual({ onA: { 200: N / 2 }, onB: { 200: N / 2 } });
    },
    ROUNDS_TIMEOUT,
  );

  it(
    'a flood of 20,000 random well-formed keys makes at most the budgeted lookups (50/s), and valid keys still verify',
    async () => {
      const verifier = verifierOf(b);
      const valid = await create(a);
      const before = verifier.status().lookups;
      const started = Date.now();
      const codes: Record<string, number> = {};
      for (let batch = 0; batch < 20; batch++) {
        const results = await Promise.all(Array.from({ length: 1000 }, async () => verifier.check(generateToken().token)));
        for (const { code } of results) codes[code] = (codes[code] ?? 0) + 1;
        expect((await verifier.check(valid.token)).code).toBe('VALID');
      }
      const seconds = (Date.now() - started) / 1000;
      const made = verifier.status().lookups - before;
      expect(codes).toEqual({ NOT_FOUND: 20_000 });
      // A burst of 50, then 50 a second; and the lookups were really made (the budget was used).
      expect(made).toBeGreaterThanOrEqual(50);
      expect(made).toBeLessThanOrEqual(50 + Math.ceil(50 * seconds));
    },
    ROUNDS_TIMEOUT,
  );
});
