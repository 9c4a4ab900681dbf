import type { Pool } from 'pg';
import request, { type Response } from 'supertest';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { countStreamEvents, expectNoSecretLeaks, Secrets } from './helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';

/**
 * The one authority rule (docs/security.md): every command on a key needs the actor to be able to
 * grant every scope that key holds, so `admin` keys are managed only by `admin`. The full matrix:
 * actor's scopes × target key's scopes × operation, all inside the actor's own tenant (another
 * tenant's key is a 404, tested in authorization-and-tenancy.e2e-spec.ts).
 */
const ACTORS = {
  admin: ['admin'],
  manager: ['keys:manage'],
  'manager of invoices': ['keys:manage', 'invoices:*'],
} as const satisfies Record<string, readonly string[]>;

const TARGETS = {
  'no scopes': [],
  'keys:manage': ['keys:manage'],
  'invoices:read': ['invoices:read'],
  'keys:manage + invoices:read': ['keys:manage', 'invoices:read'],
  'audit:read': ['audit:read'],
  'keys:verify': ['keys:verify'],
  admin: ['admin'],
} as const satisfies Record<string, readonly string[]>;

const OPERATIONS = ['create', 'patch', 'patch scopes', 'rotate', 'expire', 'revoke', 'read', 'history'] as const;
type Operation = (typeof OPERATIONS)[number];
type ActorName = keyof typeof ACTORS;
type TargetName = keyof typeof TARGETS;

/** What the rule says, written out independently of the code under test. */
function allowed(actor: ActorName, target: TargetName, operation: Operation): boolean {
  if (operation === 'read' || operation === 'history') return true; // reading is tenancy and `keys:manage`, nothing more
  const held: readonly string[] = ACTORS[actor];
  if (held.includes('admin')) return true;
  return TARGETS[target].every((scope: string) => held.includes(scope) || (held.includes('invoices:*') && scope.startsWith('invoices:')));
}

const cases = OPERATIONS.flatMap((operation) =>
  (Object.keys(ACTORS) as ActorName[]).flatMap((actor) =>
    (Object.keys(TARGETS) as TargetName[]).map((target) => [operation, actor, target] as const),
  ),
);

describe('authority over a key: actor scopes × target scopes × operation', () => {
  let sut: TestApp;
  let pool: Pool;
  const tenant = uniqueTenant();
  const secrets = new Secrets();
  const actors = {} as Record<ActorName, IssuedKey>;

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(2);
    for (const name of Object.keys(ACTORS) as ActorName[]) {
      // The admin lives in another tenant: `admin` acts on every tenant.
      actors[name] = await issueUsableKey(
        sut,
        { tenantId: name === 'admin' ? uniqueTenant() : tenant, scopes: [...ACTORS[name]] },
        { secrets },
      );
    }
  });
  afterAll(async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
    await sut.close();
    await pool.end();
  });

  async function send(operation: Operation, actor: IssuedKey, target: TargetName): Promise<{ res: Response; keyId?: string }> {
    const scopes = [...TARGETS[target]];
    const as = (method: 'get' | 'post' | 'patch', path: string) => request(sut.url)[method](path).set(bearer(actor.token));
    if (operation === 'create') {
      return { res: await as('post', '/admin/api-keys').send({ tenantId: tenant, name: `new ${target}`, scopes }) };
    }
    const key = await issueKey(sut.app, { tenantId: tenant, name: target, scopes });
    secrets.add(key.token);
    const path = `/admin/api-keys/${key.id}`;
    const res = await {
      patch: () => as('patch', path).send({ name: 'renamed' }),
      // Narrowing is still a change to the key: the caller needs authority over what it holds.
      'patch scopes': () => as('patch', path).send({ scopes: scopes.slice(1) }),
      rotate: () => as('post', `${path}/rotate`).send({ gracePeriodSeconds: 0 }),
      expire: () => as('post', `${path}/expire`),
      revoke: () => as('post', `${path}/revoke`).send({ reason: 'matrix' }),
      read: () => as('get', path),
      history: () => as('get', `${path}/events`),
    }[operation]();
    return { res, keyId: key.id };
  }

  it.each(cases)('%s by %s of a key with %s', async (operation, actorName, target) => {
    const { res, keyId } = await send(operation, actors[actorName], target);
    secrets.track(res);
    if (allowed(actorName, target, operation)) {
      expect([200, 201]).toContain(res.status);
      if (operation === 'create' || operation === 'rotate') expect(typeof res.body.key).toBe('string');
      return;
    }
    if (operation === 'create') {
      expectErrorShape(res, 403, 'KEY.SCOPE_NOT_GRANTABLE');
      return;
    }
    expectErrorShape(res, 403, 'KEY.BEYOND_AUTHORITY');
    expect(res.text).not.toMatch(/"key"\s*:/); // a refused rotate hands out no secret
    expect(await countStreamEvents(pool, keyId!)).toBe(1); // only its key.created
  });

  it('a refused rotate leaves the admin key working with its old secret, and no new one exists', async () => {
    const target = await issueUsableKey(sut, { tenantId: tenant, scopes: ['admin'] }, { secrets });
    const res = await request(sut.url).post(`/admin/api-keys/${target.id}/rotate`).set(bearer(actors.manager.token)).send({});
    expectErrorShape(res, 403, 'KEY.BEYOND_AUTHORITY');
    await request(sut.url).get('/admin/api-keys').set(bearer(target.token)).query({ tenantId: uniqueTenant() }).expect(200);
    expect(await countStreamEvents(pool, target.id)).toBe(1);
  });
});
