import { DomainError, ValidationError } from '../../common/index.js';
import { ApiKey, CreateKeyInput, MAX_GRACE_PERIOD_SECONDS } from './api-key.aggregate.js';
import { KeyExpiryNotDueError, KeyInactiveError, KeyNotFoundError } from './api-key.errors.js';
import { ScopeNotGrantableError } from '../../token/index.js';
import { KeyCreated, KeyCreatedPayload } from './events/key-created.event.js';
import { KeyExpired, KeyExpiryReason } from './events/key-expired.event.js';
import { KeyRevoked } from './events/key-revoked.event.js';
import { KeyRotated, KeyRotatedPayload } from './events/key-rotated.event.js';
import { KeyUpdated } from './events/key-updated.event.js';
import { reasonCodeOf, type ReasonCode } from './reason-code.js';
import { KeyEvent, serializeKeyEvent, type UnreadableKeyEvent } from './key-events.js';
import { hashToken, parseToken } from '../../token/index.js';

const KEY_ID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const T0 = new Date('2030-01-01T00:00:00.000Z');
const DAY = 86_400;
const HASH_1 = '11'.repeat(32);
const HASH_2 = '22'.repeat(32);
const PEPPER = Buffer.from('pepper used only by these tests');

/** `seconds` after T0. */
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

// Past events, as the store would hand them back.
const created = (overrides: Partial<KeyCreatedPayload> = {}): KeyCreated =>
  new KeyCreated({
    keyId: KEY_ID,
    publicId: 'AbCdEf012345',
    prefix: 'kl_live',
    tenantId: 'acme',
    name: 'billing',
    scopes: ['invoices:read'],
    tags: { team: 'billing' },
    expiresAt: null,
    secretHash: HASH_1,
    occurredAt: T0.toISOString(),
    ...overrides,
  });
const rotated = (overrides: Partial<KeyRotatedPayload> = {}): KeyRotated =>
  new KeyRotated({
    secretHash: HASH_2,
    previousSecretHash: HASH_1,
    graceEndsAt: null,
    expiresAt: null,
    occurredAt: at(60).toISOString(),
    ...overrides,
  });
const expired = (reason: KeyExpiryReason = 'manual', seconds = 60): KeyExpired =>
  new KeyExpired({ reason, occurredAt: at(seconds).toISOString() });
const revoked = (reason: string | null = 'leaked', seconds = 60): KeyRevoked =>
  new KeyRevoked({ reason, occurredAt: at(seconds).toISOString() });

const given = (...events: KeyEvent[]): ApiKey => ApiKey.fromEvents(events);

const createInput = (overrides: Partial<CreateKeyInput> = {}): CreateKeyInput => ({
  keyId: KEY_ID,
  tenantId: 'acme',
  name: 'billing',
  scopes: ['invoices:read'],
  prefix: 'kl_live',
  ...overrides,
});

// Jest types asymmetric matchers as `any`; toThrow matches them against the thrown error.
const invalid = (field: string): Error =>
  expect.objectContaining({
    kind: 'validation',
    code: 'VALIDATION',
    details: expect.arrayContaining([expect.objectContaining({ field })]),
  }) as Error;
const inactive = (status: 'expired' | 'revoked'): Error =>
  expect.objectContaining({ kind: 'conflict', code: 'KEY.INACTIVE', message: expect.stringContaining(status) }) as Error;

const hex = (token: string, pepper?: Buffer): string => hashToken(token, pepper).toString('hex');

describe('ApiKey', () => {
  describe('create', () => {
    it('records KeyCreated with the normalized fields and the hash of the returned token', () => {
      const { key: sut, token } = ApiKey.create(
        createInput({
          name: '  billing export  ',
          scopes: ['users:read', 'invoices:read', 'users:read'],
          tags: { region: 'eu', env: 'prod' },
          expiresAt: at(DAY),
        }),
        T0,
      );

      expect(sut.pullPendingEvents()).toStrictEqual([
        new KeyCreated({
          keyId: KEY_ID,
          publicId: sut.publicId,
          prefix: 'kl_live',
          tenantId: 'acme',
          name: 'billing export',
          scopes: ['invoices:read', 'users:read'],
          tags: { env: 'prod', region: 'eu' },
          expiresAt: at(DAY).toISOString(),
          secretHash: hex(token),
          occurredAt: T0.toISOString(),
        }),
      ]);
    });

    it('returns a token that parses to the key publicId and prefix', () => {
      const { key: sut, token } = ApiKey.create(createInput({ prefix: 'kl_test' }), T0);

      expect(parseToken(token)).toEqual({ ok: true, prefix: 'kl_test', publicId: sut.publicId });
      expect(sut.prefix).toBe('kl_test');
    });

    it('hashes with HMAC-SHA-256 when a pepper is given', () => {
      const { key: sut, token } = ApiKey.create(createInput(), T0, PEPPER);

      expect(sut.secretHash).toBe(hex(token, PEPPER));
      expect(sut.secretHash).not.toBe(hex(token));
    });

    it('starts active, at version 1, with no scopes, tags or expiry unless given', () => {
      const { key: sut } = ApiKey.create(createInput({ scopes: undefined }), T0);

      expect(sut).toMatchObject({
        version: 1,
        status: 'active',
        scopes: [],
        tags: {},
        expiresAt: null,
        previousSecretHash: null,
        graceEndsAt: null,
      });
      expect(sut.createdAt).toEqual(T0);
      expect(sut.updatedAt).toEqual(T0);
    });

    it('stores tags with their keys sorted, so equal maps event equal', () => {
      const { key: sut } = ApiKey.create(createInput({ tags: { z: '1', a: '2', m: '' } }), T0);

      expect(Object.keys(sut.tags)).toEqual(['a', 'm', 'z']);
    });

    it('keeps a "__proto__" tag as an ordinary tag', () => {
      const tags = JSON.parse('{"__proto__":"x","team":"a"}') as Record<string, string>;

      const { key: sut } = ApiKey.create(createInput({ tags }), T0);

      expect(Object.keys(sut.tags)).toEqual(['__proto__', 'team']);
      expect(Object.getPrototypeOf(sut.tags)).toBe(Object.prototype);
    });

    it.each([
      ['keyId', { keyId: 'not-a-uuid' }],
      ['keyId', { keyId: KEY_ID.toUpperCase() }],
      ['tenantId', { tenantId: '' }],
      ['tenantId', { tenantId: 't'.repeat(65) }],
      ['tenantId', { tenantId: 'acme/eu' }],
      ['name', { name: '   ' }],
      ['name', { name: 'n'.repeat(129) }],
      ['scopes', { scopes: ['invoices:read', 'Invoices'] }],
      ['scopes', { scopes: Array.from({ length: 65 }, (_, i) => `s${i}`) }],
      ['tags', { tags: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }],
      ['tags', { tags: { '': 'v' } }],
      ['tags', { tags: { ['k'.repeat(65)]: 'v' } }],
      ['tags', { tags: { team: 'v'.repeat(257) } }],
      ['tags', { tags: { team: 42 } as unknown as Record<string, string> }],
      ['tags', { tags: ['a'] as unknown as Record<string, string> }],
      ['expiresAt', { expiresAt: T0 }],
      ['expiresAt', { expiresAt: at(-1) }],
      ['expiresAt', { expiresAt: new Date('not a date') }],
      ['prefix', { prefix: 'KL_LIVE' }],
      // What PostgreSQL cannot store, for callers that do not come through the HTTP pipes (the CLI).
      ['name', { name: 'a\u0000b' }],
      ['name', { name: 'a\ud800b' }],
      ['tags', { tags: { 'a\udc00': 'v' } }],
      ['tags', { tags: { team: 'a\u0000' } }],
    ] satisfies [string, Partial<CreateKeyInput>][])('refuses an invalid %s (%j)', (field, overrides) => {
      expect(() => ApiKey.create(createInput(overrides), T0)).toThrow(ValidationError);
      expect(() => ApiKey.create(createInput(overrides), T0)).toThrow(invalid(field));
    });

    it('names the bad scope by its position, never by its value', () => {
      expect(() => ApiKey.create(createInput({ scopes: ['invoices:read', 'bad scope'] }), T0)).toThrow(/scope 2 must match/);
      expect(() => ApiKey.create(createInput({ scopes: ['invoices:read', 'bad scope'] }), T0)).not.toThrow(/bad scope/);
    });

    it('accepts every limit at its edge', () => {
      const input = createInput({
        tenantId: `${'t'.repeat(61)}._-`,
        name: ` ${'😀'.repeat(128)} `, // counted in characters, not UTF-16 units
        scopes: Array.from({ length: 64 }, (_, i) => `s${i}:*`),
        tags: { ...Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, ''])), ['k'.repeat(64)]: 'v'.repeat(256) },
        expiresAt: at(1),
      });

      expect(() => ApiKey.create(input, T0)).not.toThrow();
    });

    it('reports every invalid field at once', () => {
      expect(() => ApiKey.create(createInput({ tenantId: '', name: '', scopes: ['X'], expiresAt: at(-1) }), T0)).toThrow(
        expect.objectContaining({
          details: [
            expect.objectContaining({ field: 'tenantId' }),
            expect.objectContaining({ field: 'name' }),
            expect.objectContaining({ field: 'scopes' }),
            expect.objectContaining({ field: 'expiresAt' }),
          ],
        }),
      );
    });

    it('refuses to grant scopes the grantor does not hold', () => {
      const input = createInput({ scopes: ['invoices:read', 'users:write'], grantorScopes: ['invoices:*'] });

      expect(() => ApiKey.create(input, T0)).toThrow(ScopeNotGrantableError);
      expect(() => ApiKey.create(input, T0)).toThrow(
        expect.objectContaining({ kind: 'forbidden', code: 'KEY.SCOPE_NOT_GRANTABLE', message: expect.stringContaining('users:write') }),
      );
    });

    it('grants scopes the grantor covers by wildcard or admin', () => {
      expect(() => ApiKey.create(createInput({ scopes: ['invoices:read:all'], grantorScopes: ['invoices:*'] }), T0)).not.toThrow();
      expect(() => ApiKey.create(createInput({ scopes: ['admin', 'users:*'], grantorScopes: ['admin'] }), T0)).not.toThrow();
    });
  });

  describe('fromEvents', () => {
    it('rebuilds the state from past events, with nothing pending', () => {
      const sut = given(
        created({ expiresAt: at(10 * DAY).toISOString() }),
        rotated({ graceEndsAt: at(3600).toISOString(), expiresAt: at(20 * DAY).toISOString() }),
        new KeyUpdated({
          changes: { name: { from: 'billing', to: 'payments' }, tags: { from: { team: 'billing' }, to: {} } },
          occurredAt: at(120).toISOString(),
        }),
      );

      expect(sut).toMatchObject({
        keyId: KEY_ID,
        publicId: 'AbCdEf012345',
        prefix: 'kl_live',
        tenantId: 'acme',
        name: 'payments',
        scopes: ['invoices:read'],
        tags: {},
        status: 'active',
        secretHash: HASH_2,
        previousSecretHash: HASH_1,
        version: 3,
      });
      expect(sut.expiresAt).toEqual(at(20 * DAY));
      expect(sut.graceEndsAt).toEqual(at(3600));
      expect(sut.createdAt).toEqual(T0);
      expect(sut.updatedAt).toEqual(at(120));
      expect(sut.pullPendingEvents()).toEqual([]);
    });

    it('refuses a stream that does not start with KeyCreated', () => {
      expect(() => given()).toThrow(/KeyCreated/);
      expect(() => given(revoked())).toThrow(/must start with key.created/);
    });

    it('refuses a stream with a second KeyCreated', () => {
      expect(() => given(created(), created())).toThrow(/second key.created/);
    });

    it('hands out state that callers cannot change', () => {
      const sut = given(created());

      expect(() => (sut.scopes as string[]).push('admin')).toThrow(TypeError);
      expect(() => ((sut.tags as Record<string, string>).team = 'x')).toThrow(TypeError);
      sut.createdAt.setTime(0);
      expect(sut.createdAt).toEqual(T0);
    });
  });

  describe('an event this code cannot read', () => {
    const frozen: UnreadableKeyEvent = {
      type: 'unreadable',
      storedType: 'key.frozen',
      schemaVersion: 1,
      problem: 'unknown key event type "key.frozen"',
    };
    const stream = (): ApiKey => ApiKey.fromEvents([created(), frozen, rotated()]);

    it('keeps its place in the version and changes no state', () => {
      const sut = stream();
      expect(sut).toMatchObject({ version: 3, status: 'active', secretHash: HASH_2 });
      expect(sut.unreadableEvents).toEqual([{ version: 2, event: frozen }]);
    });

    it('still lets the key be revoked and expired', () => {
      const revokedKey = stream();
      revokedKey.revoke('leaked', at(120));
      expect(revokedKey.pullPendingEvents()).toEqual([
        new KeyRevoked({ reason: 'leaked', reasonCode: 'other', occurredAt: at(120).toISOString() }),
      ]);
      const expiredKey = stream();
      expiredKey.expire('manual', at(120));
      expect(expiredKey.status).toBe('expired');
    });

    it('refuses rotate and update, naming the event', () => {
      expect(() => stream().rotate({}, at(120), PEPPER)).toThrow(
        expect.objectContaining({ code: 'KEY.UNREADABLE_HISTORY', kind: 'conflict' }),
      );
      expect(() => stream().update({ name: 'x' }, at(120))).toThrow(/stream version 2: unknown key event type "key.frozen"/);
    });

    it('cannot stand first: a stream starts with a readable KeyCreated', () => {
      expect(() => ApiKey.fromEvents([frozen])).toThrow(/KeyCreated/);
    });
  });

  describe('version and pending events', () => {
    it('counts uncommitted events in the version, and pullPendingEvents clears them', () => {
      const sut = given(created());

      sut.rotate({}, at(10));
      sut.revoke(null, at(20));

      expect(sut.version).toBe(3);
      expect(sut.pullPendingEvents().map((e) => e.type)).toEqual(['key.rotated', 'key.revoked']);
      expect(sut.pullPendingEvents()).toEqual([]);
      expect(sut.version).toBe(3);
    });

    it('changes nothing when a command is refused', () => {
      const sut = given(created());

      expect(() => sut.update({ name: 'ok', scopes: ['BAD'] }, at(10))).toThrow(ValidationError);

      expect(sut.version).toBe(1);
      expect(sut.pullPendingEvents()).toEqual([]);
      expect(sut.name).toBe('billing');
    });
  });

  describe('the plaintext token', () => {
    it('never appears in any event, whole or as its secret part', () => {
      for (const pepper of [undefined, PEPPER]) {
        const { key: sut, token } = ApiKey.create(createInput(), T0, pepper);
        const { token: rotatedToken } = sut.rotate({ gracePeriodSeconds: 3600 }, at(10), pepper);
        sut.update({ name: 'renamed' }, at(20));
        sut.revoke('done', at(30));

        const stored = JSON.stringify(sut.pullPendingEvents().map(serializeKeyEvent));

        for (const t of [token, rotatedToken]) {
          expect(stored).not.toContain(t);
          expect(stored).not.toContain(t.slice(-34)); // secret + checksum
          expect(stored).not.toContain(t.slice(-34, -6)); // secret alone
        }
      }
    });
  });

  describe('rotate', () => {
    it('records KeyRotated with the new hash and the previous one, and no grace by default', () => {
      const sut = given(created());

      const { token } = sut.rotate({}, at(10));

      expect(sut.pullPendingEvents()).toStrictEqual([
        new KeyRotated({
          secretHash: hex(token),
          previousSecretHash: HASH_1,
          graceEndsAt: null,
          expiresAt: null,
          occurredAt: at(10).toISOString(),
        }),
      ]);
    });

    it('keeps the publicId, prefix, scopes and tags', () => {
      const sut = given(created({ prefix: 'kl_test', scopes: ['a', 'b:*'], tags: { t: 'v' } }));

      const { token } = sut.rotate({}, at(10));

      expect(parseToken(token)).toEqual({ ok: true, prefix: 'kl_test', publicId: 'AbCdEf012345' });
      expect(sut).toMatchObject({
        publicId: 'AbCdEf012345',
        scopes: ['a', 'b:*'],
        tags: { t: 'v' },
        secretHash: hex(token),
        previousSecretHash: HASH_1,
      });
    });

    it('keeps the previous secret valid until the end of the grace period', () => {
      const sut = given(created());

      sut.rotate({ gracePeriodSeconds: 3600 }, at(10));

      expect(sut.graceEndsAt).toEqual(at(3610));
      expect(sut.pullPendingEvents()).toEqual([
        expect.objectContaining({ payload: expect.objectContaining({ graceEndsAt: at(3610).toISOString() }) }),
      ]);
    });

    it('accepts a grace period of exactly 30 days', () => {
      const sut = given(created());

      sut.rotate({ gracePeriodSeconds: MAX_GRACE_PERIOD_SECONDS }, T0);

      expect(sut.graceEndsAt).toEqual(at(30 * DAY));
    });

    it.each([-1, MAX_GRACE_PERIOD_SECONDS + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
      'refuses a grace period of %p seconds',
      (gracePeriodSeconds) => {
        const sut = given(created());

        expect(() => sut.rotate({ gracePeriodSeconds }, at(10))).toThrow(invalid('gracePeriodSeconds'));
      },
    );

    it('hashes the new token with the pepper', () => {
      const sut = given(created());

      const { token } = sut.rotate({}, at(10), PEPPER);

      expect(sut.secretHash).toBe(hex(token, PEPPER));
    });

    it('passes the current secret on as the previous one on a second rotation', () => {
      const sut = given(created(), rotated({ graceEndsAt: at(3600).toISOString() }));

      sut.rotate({ gracePeriodSeconds: 60 }, at(120));

      expect(sut.previousSecretHash).toBe(HASH_2);
      expect(sut.graceEndsAt).toEqual(at(180));
    });

    it('keeps the expiry unless told otherwise, and records it on the event', () => {
      const sut = given(created({ expiresAt: at(DAY).toISOString() }));

      sut.rotate({}, at(10));

      expect(sut.expiresAt).toEqual(at(DAY));
      expect(sut.pullPendingEvents()[0]?.payload).toMatchObject({ expiresAt: at(DAY).toISOString() });
    });

    it('moves the expiry, or removes it with null', () => {
      const sut = given(created({ expiresAt: at(DAY).toISOString() }));

      sut.rotate({ expiresAt: at(2 * DAY) }, at(10));
      expect(sut.expiresAt).toEqual(at(2 * DAY));

      sut.rotate({ expiresAt: null }, at(20));
      expect(sut.expiresAt).toBeNull();
    });

    it('refuses a new expiry that is not in the future', () => {
      const sut = given(created());

      expect(() => sut.rotate({ expiresAt: at(10) }, at(10))).toThrow(invalid('expiresAt'));
    });

    it('refuses to rotate a revoked key', () => {
      const sut = given(created(), revoked());

      expect(() => sut.rotate({}, at(120))).toThrow(KeyInactiveError);
      expect(() => sut.rotate({}, at(120))).toThrow(inactive('revoked'));
    });

    it('refuses to rotate a key whose expiresAt has passed, before KeyExpired is written', () => {
      const sut = given(created({ expiresAt: at(DAY).toISOString() }));

      expect(() => sut.rotate({}, at(DAY))).toThrow(inactive('expired'));
    });
  });

  describe('expire', () => {
    it('records a manual expiry of an active key', () => {
      const sut = given(created({ expiresAt: at(DAY).toISOString() }));

      sut.expire('manual', at(10), { reasonCode: 'offboarding' });

      expect(sut.pullPendingEvents()).toStrictEqual([
        new KeyExpired({ reason: 'manual', reasonCode: 'offboarding', occurredAt: at(10).toISOString() }),
      ]);
      expect(sut.status).toBe('expired');
    });

    it('records a ttl expiry once expiresAt has passed', () => {
      const sut = given(created({ expiresAt: at(DAY).toISOString() }));

      sut.expire('ttl', at(DAY));

      expect(sut.pullPendingEvents()).toStrictEqual([
        new KeyExpired({ reason: 'ttl', reasonCode: 'other', occurredAt: at(DAY).toISOString() }),
      ]);
      expect(sut.status).toBe('expired');
    });

    it('refuses a ttl expiry before expiresAt, or for a key without one', () => {
      expect(() => given(created({ expiresAt: at(DAY).toISOString() })).expire('ttl', at(DAY - 1))).toThrow(KeyExpiryNotDueError);
      expect(() => given(created()).expire('ttl', at(DAY))).toThrow(
        expect.objectContaining({ kind: 'conflict', code: 'KEY.EXPIRY_NOT_DUE' }),
      );
    });

    it('refuses a manual expiry once expiresAt has passed: the key is already expired', () => {
      const sut = given(created({ expiresAt: at(DAY).toISOString() }));

      expect(() => sut.expire('manual', at(DAY + 1))).toThrow(inactive('expired'));
    });

    it('refuses a ttl expiry of a key already expired or revoked', () => {
      expect(() => given(created({ expiresAt: at(10).toISOString() }), expired('ttl', 20)).expire('ttl', at(30))).toThrow(
        inactive('expired'),
      );
      expect(() => given(created({ expiresAt: at(10).toISOString() }), revoked('x', 5)).expire('ttl', at(30))).toThrow(inactive('revoked'));
    });

    it('records an inactive expiry with the last use it was decided on, and only for an active key', () => {
      const sut = given(created());
      const evidence = { lastUsedAt: at(5).toISOString(), inactiveAfterDays: 90 };

      sut.expire('inactive', at(91 * DAY), { evidence });

      expect(sut.pullPendingEvents()).toStrictEqual([
        new KeyExpired({ reason: 'inactive', reasonCode: 'unused', ...evidence, occurredAt: at(91 * DAY).toISOString() }),
      ]);
      expect(() => given(created(), revoked('x', 5)).expire('inactive', at(30), { evidence })).toThrow(inactive('revoked'));
    });

    it('dates the current secret from the last rotation, else the creation', () => {
      expect(given(created()).secretIssuedAt).toEqual(T0);
      expect(given(created(), rotated()).secretIssuedAt).toEqual(new Date(rotated().payload.occurredAt));
    });

    it('refuses a reason other than ttl or manual', () => {
      expect(() => given(created()).expire('later' as KeyExpiryReason, at(10))).toThrow(invalid('reason'));
    });
  });

  describe('revoke', () => {
    it('records KeyRevoked with the trimmed reason', () => {
      const sut = given(created());

      sut.revoke('  leaked in a CI log ', at(10));

      expect(sut.pullPendingEvents()).toStrictEqual([
        new KeyRevoked({ reason: 'leaked in a CI log', reasonCode: 'other', occurredAt: at(10).toISOString() }),
      ]);
      expect(sut.status).toBe('revoked');
    });

    it('records a missing or blank reason as null', () => {
      const sut = given(created());

      sut.revoke('  ', at(10));

      expect(sut.pullPendingEvents()[0]?.payload).toEqual({ reason: null, reasonCode: 'other', occurredAt: at(10).toISOString() });
    });

    it("records the reason code and a leak's source URL, and refuses an unknown code or a URL that is not http(s)", () => {
      const sut = given(created());

      sut.revoke('found on GitHub', at(10), { reasonCode: 'leaked', sourceUrl: 'https://github.com/acme/app/blob/main/.env' });

      expect(sut.pullPendingEvents()[0]?.payload).toEqual({
        reason: 'found on GitHub',
        reasonCode: 'leaked',
        sourceUrl: 'https://github.com/acme/app/blob/main/.env',
        occurredAt: at(10).toISOString(),
      });
      expect(() => given(created()).revoke(null, at(10), { reasonCode: 'stolen' as ReasonCode })).toThrow(invalid('reasonCode'));
      expect(() => given(created()).revoke(null, at(10), { sourceUrl: 'javascript:alert(1)' })).toThrow(invalid('sourceUrl'));
      expect(() => given(created()).revoke(null, at(10), { sourceUrl: 'https://x/'.padEnd(2049, 'a') })).toThrow(invalid('sourceUrl'));
    });

    it('reads an event written before reason codes as `other`', () => {
      expect(reasonCodeOf(JSON.parse('{"reason":"x"}') as object)).toBe('other');
      expect(reasonCodeOf({ reasonCode: 'leaked' })).toBe('leaked');
      expect(reasonCodeOf({ reasonCode: 'nonsense' })).toBe('other');
    });

    it('refuses a reason longer than 512 characters', () => {
      expect(() => given(created()).revoke('r'.repeat(513), at(10))).toThrow(invalid('reason'));
      expect(() => given(created()).revoke('leaked\u0000', at(10))).toThrow(invalid('reason'));
      expect(() => given(created()).revoke('leaked \ud83d', at(10))).toThrow(invalid('reason'));
    });

    it('revokes a key inside a rotation grace period', () => {
      const sut = given(created(), rotated({ graceEndsAt: at(3600).toISOString() }));

      sut.revoke(null, at(120));

      expect(sut.statusAt(at(121))).toBe('revoked');
    });
  });

  describe('update', () => {
    it('records only the fields that changed, from and to', () => {
      const sut = given(created({ expiresAt: at(DAY).toISOString() }));

      const changed = sut.update({ name: ' payments ', scopes: ['invoices:read'], tags: { team: 'payments' }, expiresAt: null }, at(10));

      expect(changed).toBe(true);
      expect(sut.pullPendingEvents()).toStrictEqual([
        new KeyUpdated({
          changes: {
            name: { from: 'billing', to: 'payments' },
            tags: { from: { team: 'billing' }, to: { team: 'payments' } },
            expiresAt: { from: at(DAY).toISOString(), to: null },
          },
          occurredAt: at(10).toISOString(),
        }),
      ]);
      expect(sut).toMatchObject({ name: 'payments', tags: { team: 'payments' }, expiresAt: null, updatedAt: at(10), createdAt: T0 });
    });

    it('replaces the scopes, normalized', () => {
      const sut = given(created());

      sut.update({ scopes: ['users:read', 'invoices:read', 'users:read'] }, at(10));

      expect(sut.scopes).toEqual(['invoices:read', 'users:read']);
      expect(sut.pullPendingEvents()[0]?.payload).toMatchObject({
        changes: { scopes: { from: ['invoices:read'], to: ['invoices:read', 'users:read'] } },
      });
    });

    it('sets an expiry on a key that had none', () => {
      const sut = given(created());

      sut.update({ expiresAt: at(DAY) }, at(10));

      expect(sut.expiresAt).toEqual(at(DAY));
    });

    it('records nothing and returns false when nothing actually changes', () => {
      const sut = given(created({ scopes: ['a', 'b'], tags: { x: '1', y: '2' }, expiresAt: at(DAY).toISOString() }));

      const changed = sut.update({ name: '  billing ', scopes: ['b', 'a', 'b'], tags: { y: '2', x: '1' }, expiresAt: at(DAY) }, at(10));

      expect(changed).toBe(false);
      expect(sut.update({}, at(10))).toBe(false);
      expect(sut.pullPendingEvents()).toEqual([]);
      expect(sut.version).toBe(1);
    });

    it.each([
      ['name', { name: '' }],
      ['scopes', { scopes: ['ok', 'NOT:OK'] }],
      ['tags', { tags: { team: 1 } as unknown as Record<string, string> }],
      ['expiresAt', { expiresAt: at(5) }],
    ])('refuses an invalid %s', (field, input) => {
      expect(() => given(created()).update(input, at(10))).toThrow(invalid(field));
    });

    it('refuses to add a scope the grantor does not hold', () => {
      const sut = given(created());

      expect(() => sut.update({ scopes: ['invoices:read', 'users:write'], grantorScopes: ['invoices:*'] }, at(10))).toThrow(
        expect.objectContaining({ code: 'KEY.SCOPE_NOT_GRANTABLE', message: expect.stringContaining('users:write') }),
      );
    });

    it('lets a grantor remove a scope it does not hold', () => {
      const sut = given(created({ scopes: ['invoices:read', 'users:write'] }));

      expect(sut.update({ scopes: ['invoices:read'], grantorScopes: ['invoices:*'] }, at(10))).toBe(true);
    });

    it('refuses to update a key whose expiresAt has passed', () => {
      expect(() => given(created({ expiresAt: at(10).toISOString() })).update({ name: 'x' }, at(10))).toThrow(inactive('expired'));
    });
  });

  describe.each([
    ['revoked', [created(), revoked()]],
    ['expired', [created(), expired()]],
  ] as const)('a %s key is terminal', (status, events) => {
    it.each([
      ['rotate', (sut: ApiKey) => sut.rotate({}, at(120))],
      ['expire', (sut: ApiKey) => sut.expire('manual', at(120))],
      ['revoke', (sut: ApiKey) => sut.revoke(null, at(120))],
      ['update', (sut: ApiKey) => sut.update({ name: 'x' }, at(120))],
    ])('refuses to %s it, with KEY.INACTIVE', (_command, command) => {
      const sut = given(...events);

      expect(() => command(sut)).toThrow(inactive(status));
      expect(sut.pullPendingEvents()).toEqual([]);
    });
  });

  describe('statusAt', () => {
    it('is expired from the instant expiresAt passes, before KeyExpired is written', () => {
      const sut = given(created({ expiresAt: at(DAY).toISOString() }));

      expect(sut.statusAt(at(DAY - 1))).toBe('active');
      expect(sut.statusAt(at(DAY))).toBe('expired');
      expect(sut.status).toBe('active');
    });

    it('stays active forever without an expiry, and revoked once revoked', () => {
      expect(given(created()).statusAt(at(1000 * DAY))).toBe('active');
      expect(given(created({ expiresAt: at(DAY).toISOString() }), revoked()).statusAt(at(2 * DAY))).toBe('revoked');
    });
  });

  describe('errors', () => {
    it('are DomainErrors with stable codes', () => {
      expect(KeyNotFoundError.withId(KEY_ID)).toMatchObject({ kind: 'not-found', code: 'KEY.NOT_FOUND', name: 'KeyNotFoundError' });
      expect(KeyInactiveError.forKey(KEY_ID, 'revoked')).toBeInstanceOf(DomainError);
      expect(ScopeNotGrantableError.forScopes(['a', 'b'])).toMatchObject({
        details: [{ field: 'scopes', message: expect.stringContaining('a, b') }],
      });
    });
  });
});
