import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Pool } from 'pg';
import {
  ApiKeyGuard,
  KeyReplica,
  KeyVerifier,
  PRINCIPAL_PROPERTY,
  TOKEN_DIGESTERS,
  type ApiKeyAuthOptions,
  type ReplicaRow,
} from '@keyledger/nestjs';
import { generateToken, hashToken } from './index.js';

const PEPPER = Buffer.from('unit-test-pepper-0123456789abcdef0123456789', 'utf8');

/** A pool that must never be used: verification is memory only. */
function unreachablePool(): { pool: Pool; calls: () => number } {
  let calls = 0;
  const refuse = (): never => {
    calls++;
    throw new Error('verify() must not touch the database');
  };
  return { pool: { query: refuse, connect: refuse } as unknown as Pool, calls: () => calls };
}

function row(token: string, overrides: Partial<ReplicaRow> = {}): ReplicaRow {
  const publicId = token.slice(-47, -35);
  return {
    key_id: randomUUID(),
    public_id: publicId,
    tenant_id: 'acme',
    scopes: '["invoices:read"]',
    tags: '{"plan": "pro"}',
    status: 'active',
    secret_hash: hashToken(token, PEPPER).toString('hex'),
    previous_secret_hash: null,
    grace_ends_at: null,
    expires_at: null,
    version: 1,
    ...overrides,
  };
}

describe('KeyReplica.verify', () => {
  let db: ReturnType<typeof unreachablePool>;
  let sut: KeyReplica;

  beforeEach(() => {
    db = unreachablePool();
    sut = new KeyReplica(db.pool, PEPPER);
  });

  it('answers a flood of random well-formed keys NOT_FOUND without a single database call', () => {
    const known = Array.from({ length: 1000 }, () => generateToken().token);
    for (const token of known) sut.apply(row(token));

    const codes = new Set<string>();
    for (let i = 0; i < 2000; i++) codes.add(sut.verify(generateToken().token).code);
    for (const token of known.slice(0, 50)) codes.add(sut.verify(token).code);

    expect([...codes].sort()).toEqual(['NOT_FOUND', 'VALID']);
    expect(db.calls()).toBe(0);
  });

  it('answers VALID with the principal, from memory', () => {
    const { token } = generateToken();
    const r = row(token, { expires_at: Date.parse('2030-01-01T00:00:00.000Z') });
    sut.apply(r);

    expect(sut.verify(token)).toEqual({
      code: 'VALID',
      principal: {
        keyId: r.key_id,
        publicId: r.public_id,
        tenantId: 'acme',
        scopes: ['invoices:read'],
        tags: { plan: 'pro' },
        expiresAt: '2030-01-01T00:00:00.000Z',
      },
    });
    expect(db.calls()).toBe(0);
  });

  it('answers MALFORMED for anything that is not a well-formed key, under a known publicId or not', () => {
    const { token } = generateToken();
    sut.apply(row(token));
    const flipLast = (t: string): string => t.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'));
    for (const bad of ['', 'nope', token.slice(0, -1), `${token}x`, flipLast(token), flipLast(generateToken().token)]) {
      expect(sut.verify(bad).code).toBe('MALFORMED');
    }
    expect(db.calls()).toBe(0);
  });

  it('answers NOT_FOUND for a wrong secret under a known publicId', () => {
    const { token, publicId } = generateToken();
    sut.apply(row(token));
    expect(sut.verify(generateToken('kl_live', publicId).token).code).toBe('NOT_FOUND');
  });

  it.each(TOKEN_DIGESTERS)('verifies keys issued by node:crypto with the %s digester it is given', (digester) => {
    const replica = new KeyReplica(db.pool, PEPPER, 30, digester);
    const { token, publicId } = generateToken();
    replica.apply(row(token));
    expect(replica.verify(token).code).toBe('VALID');
    expect(replica.verify(generateToken('kl_live', publicId).token).code).toBe('NOT_FOUND');
    expect(db.calls()).toBe(0);
  });

  it('answers NOT_FOUND when the pepper differs from the one the key was hashed with', () => {
    const { token } = generateToken();
    const other = new KeyReplica(db.pool, Buffer.from('another-pepper-0123456789abcdef0123456789'));
    other.apply(row(token));
    expect(other.verify(token).code).toBe('NOT_FOUND');
  });

  it('answers REVOKED and EXPIRED by status, and EXPIRED the instant expiresAt passes', () => {
    const [revoked, expired, ttl] = [generateToken().token, generateToken().token, generateToken().token];
    const expiresAt = new Date('2030-01-01T00:00:00.000Z');
    sut.apply(row(revoked, { status: 'revoked' }));
    sut.apply(row(expired, { status: 'expired' }));
    sut.apply(row(ttl, { expires_at: expiresAt.getTime() }));

    expect(sut.verify(revoked).code).toBe('REVOKED');
    expect(sut.verify(expired).code).toBe('EXPIRED');
    expect(sut.verify(ttl, expiresAt.getTime() - 1).code).toBe('VALID');
    expect(sut.verify(ttl, expiresAt.getTime()).code).toBe('EXPIRED');
  });

  it('accepts the previous secret only until the grace period ends', () => {
    const { token: previous, publicId } = generateToken();
    const { token: current } = generateToken('kl_live', publicId);
    const graceEndsAt = new Date('2030-01-01T00:00:00.000Z');
    sut.apply(
      row(current, { previous_secret_hash: hashToken(previous, PEPPER).toString('hex'), grace_ends_at: graceEndsAt.getTime(), version: 2 }),
    );

    expect(sut.verify(current).code).toBe('VALID');
    expect(sut.verify(previous, graceEndsAt.getTime() - 1).code).toBe('VALID');
    expect(sut.verify(previous, graceEndsAt.getTime()).code).toBe('NOT_FOUND');
  });

  it('keeps the newest version whatever order rows arrive in (load, NOTIFY and resync overlap)', () => {
    const { token } = generateToken();
    const created = row(token);
    const revoked = { ...created, status: 'revoked' as const, version: 2 };

    sut.apply(revoked);
    sut.apply(created);
    expect(sut.verify(token).code).toBe('REVOKED');
    sut.apply(revoked);
    expect(sut.verify(token).code).toBe('REVOKED');
  });

  it('hashes without a pepper (plain SHA-256) when the registry has none', () => {
    const { token } = generateToken();
    const plain = new KeyReplica(db.pool, undefined);
    plain.apply(row(token, { secret_hash: hashToken(token).toString('hex') }));
    expect(plain.verify(token).code).toBe('VALID');
  });
});

describe('KeyReplica.apply', () => {
  it('keeps a tenant named like another key’s scopes or tags apart from them (interned values never mix)', () => {
    const sut = new KeyReplica(unreachablePool().pool, PEPPER);
    const [a, b] = [generateToken().token, generateToken().token];
    sut.apply(row(a, { scopes: '["x"]' }));
    sut.apply(row(b, { tenant_id: 's:["x"]' }));
    const principal = (token: string) => {
      const result = sut.verify(token);
      if (result.code !== 'VALID') throw new Error(result.code);
      return result.principal;
    };
    expect(principal(a).scopes).toEqual(['x']);
    expect(principal(b).tenantId).toBe('s:["x"]');
    expect(principal(b).scopes).toEqual(['invoices:read']);
  });

  it('prunes interned sets no key uses any more, and keeps every one a key still uses', () => {
    const sut = new KeyReplica(unreachablePool().pool, PEPPER);
    const tokens = Array.from({ length: 3 }, () => generateToken().token);
    for (const token of tokens) sut.apply(row(token, { tags: '{"plan": "pro"}' }));
    // The first key is updated 50 times, each time with tags of its own: 50 sets only it ever used.
    for (let v = 2; v <= 51; v++) sut.apply(row(tokens[0], { tags: `{"batch": "${v}"}`, scopes: `["s${v}"]`, version: v }));
    const before = sut.status().interned;

    expect(sut.prune()).toBe(2 * 49); // the 49 superseded tag sets and scope sets; the shared ones stay
    expect(sut.status().interned).toBe(before - 98);
    const principal = (token: string) => {
      const result = sut.verify(token);
      if (result.code !== 'VALID') throw new Error(result.code);
      return result.principal;
    };
    expect(principal(tokens[0]).tags).toEqual({ batch: '51' });
    expect(principal(tokens[0]).scopes).toEqual(['s51']);
    expect(principal(tokens[1]).tags).toEqual({ plan: 'pro' });
    // A value seen again after a prune is interned again, equal to before.
    sut.apply(row(tokens[2], { tags: '{"batch": "2"}', version: 2 }));
    expect(principal(tokens[2]).tags).toEqual({ batch: '2' });
    expect(sut.prune()).toBe(0);
  });
});

/**
 * Nothing here reaches a database: the replica is filled by hand, and a well-formed unknown key
 * finds no lookup budget (0 a second) and no time to wait for a notification, so it is refused
 * from memory. The pool is never connected.
 */
function verifier(options: Partial<ApiKeyAuthOptions> = {}): KeyVerifier {
  return new KeyVerifier({ databaseUrl: 'postgres://nobody@127.0.0.1:1/unused', lookupsPerSecond: 0, notifyWaitMs: 0, ...options }, PEPPER);
}

/** A request whose client address and user agent count how often they are read. */
function requestWith(token: string): { request: Record<string, unknown>; reads: () => number } {
  let reads = 0;
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  Object.defineProperty(headers, 'user-agent', {
    enumerable: true,
    get: () => {
      reads++;
      return 'curl/8.5';
    },
  });
  const request = {
    headers,
    get ip(): string {
      reads++;
      return '203.0.113.7';
    },
  };
  return { request, reads: () => reads };
}

function contextOf(request: object): ExecutionContext {
  class Controller {
    handler(): void {}
  }
  return {
    getHandler: () => Controller.prototype.handler,
    getClass: () => Controller,
    getArgByIndex: () => request,
  } as unknown as ExecutionContext;
}

describe('ApiKeyGuard reads the client (IP, user agent) only for a known key', () => {
  beforeAll(() => {
    Logger.overrideLogger(false); // each refusal's log line
  });

  const known = generateToken();

  let keys: KeyVerifier;

  function guardOver(options: Partial<ApiKeyAuthOptions> = {}): ApiKeyGuard {
    keys = verifier(options);
    keys.applyCommitted(row(known.token));
    return new ApiKeyGuard(keys, new Reflector());
  }

  it.each([
    ['a malformed token', 'kl_live_not-a-key', 'AUTH.MALFORMED'],
    ['a well-formed token of no known key', generateToken().token, 'AUTH.NOT_FOUND'],
    ['a known key with the wrong secret', generateToken('kl_live', known.publicId).token, 'AUTH.NOT_FOUND'],
  ])('does not read it for %s, which it refuses', async (_case, token, code) => {
    const sut = guardOver();
    const { request, reads } = requestWith(token);

    await expect(Promise.resolve(sut.canActivate(contextOf(request)))).rejects.toMatchObject({ statusCode: 401, code });

    expect(reads()).toBe(0);
  });

  it('reads it once for a key it accepts, and the key’s use records it', async () => {
    const sut = guardOver();
    const record = jest.spyOn(keys.usage!, 'record');
    const { request, reads } = requestWith(known.token);

    await expect(Promise.resolve(sut.canActivate(contextOf(request)))).resolves.toBe(true);

    expect(request[PRINCIPAL_PROPERTY]).toMatchObject({ publicId: known.publicId });
    expect(reads()).toBe(2); // the address and the user agent, each once
    expect(record).toHaveBeenCalledTimes(1);
    expect(record.mock.calls[0].slice(-2)).toEqual(['203.0.113.7', 'curl/8.5']);
  });

  it('does not read it with recordUsage off, where nothing uses it', async () => {
    const sut = guardOver({ recordUsage: false });
    const { request, reads } = requestWith(known.token);

    await expect(Promise.resolve(sut.canActivate(contextOf(request)))).resolves.toBe(true);

    expect(reads()).toBe(0);
  });
});
