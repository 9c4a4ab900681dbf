import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeyGuard, KeyVerifier, PRINCIPAL_PROPERTY, type ApiKeyAuthOptions, type ReplicaRow } from '@keyledger/nestjs';
import { generateToken, hashToken } from './index.js';

const PEPPER = Buffer.from('unit-test-pepper-0123456789abcdef0123456789', 'utf8');

/**
 * Nothing here reaches a database: the replica is filled by hand, and a well-formed unknown key
 * finds no lookup budget (0 a second) and no time to wait for a notification, so it is refused
 * from memory. The pool is never connected.
 */
function verifier(options: Partial<ApiKeyAuthOptions> = {}): KeyVerifier {
  return new KeyVerifier({ databaseUrl: 'postgres://nobody@127.0.0.1:1/unused', lookupsPerSecond: 0, notifyWaitMs: 0, ...options }, PEPPER);
}

function row(token: string, overrides: Partial<ReplicaRow> = {}): ReplicaRow {
  return {
    key_id: randomUUID(),
    public_id: token.slice(-47, -35),
    tenant_id: 'acme',
    scopes: '["invoices:read"]',
    tags: '{}',
    status: 'active',
    secret_hash: hashToken(token, PEPPER).toString('hex'),
    previous_secret_hash: null,
    grace_ends_at: null,
    expires_at: null,
    version: 1,
    ...overrides,
  };
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
