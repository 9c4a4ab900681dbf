import { DomainError } from '../common/index.js';
import { ADMIN_SCOPE, ungrantable } from '../token/index.js';
import type { Actor } from './command-context.js';
import { KeyNotFoundError } from './domain/api-key.errors.js';

export class TenantForbiddenError extends DomainError {
  /** The tenant id is the caller's input: never echoed. */
  static create(_tenantId: string): TenantForbiddenError {
    return new TenantForbiddenError('forbidden', 'TENANT.FORBIDDEN', 'Your key may only manage keys of its own tenant');
  }
}

/**
 * A key holding scopes its caller could not grant is out of the caller's reach: every command on an
 * existing key (rotate, update, expire, revoke) needs authority over all of it. So `admin` keys are
 * managed only by `admin`, and a rotate can never hand a caller a secret stronger than its own.
 */
export class KeyBeyondAuthorityError extends DomainError {
  static forScopes(scopes: readonly string[]): KeyBeyondAuthorityError {
    const list = scopes.join(', ');
    return new KeyBeyondAuthorityError(
      'forbidden',
      'KEY.BEYOND_AUTHORITY',
      `This key holds scopes your key could not grant (${list}); only a key that can grant every scope it holds may rotate, change, expire or revoke it`,
      [{ field: 'scopes', message: `held by the key, not grantable by the caller: ${list}` }],
    );
  }
}

/** `admin` (or an operator) sees every tenant; anyone else only their own. */
export function isCrossTenant(actor: Actor): boolean {
  return actor.scopes === null || actor.scopes.includes(ADMIN_SCOPE);
}

export function canAccessTenant(actor: Actor, tenantId: string): boolean {
  return isCrossTenant(actor) || actor.tenantId === tenantId;
}

/** Another tenant's key is a 404, never a 403: its existence is not disclosed. */
export function assertCanAccessKey(actor: Actor, key: { tenantId: string; keyId: string }, requestedId: string): void {
  if (!canAccessTenant(actor, key.tenantId)) throw KeyNotFoundError.withId(requestedId);
}

export function assertCanCreateIn(actor: Actor, tenantId: string): void {
  if (!canAccessTenant(actor, tenantId)) throw TenantForbiddenError.create(tenantId);
}

/**
 * The tenant a read is limited to (undefined: every tenant). `admin` and the operator read every
 * tenant, or the one they ask for; anyone else reads its own, and asking for another is refused.
 */
export function readableTenant(
  actor: Actor,
  requested: string | undefined,
  forbidden: (tenantId: string) => Error = (tenantId) => TenantForbiddenError.create(tenantId),
): string | undefined {
  if (isCrossTenant(actor)) return requested;
  const own = actor.tenantId;
  if (own === null || (requested !== undefined && requested !== own)) throw forbidden(requested ?? '');
  return own;
}

/** The one authority rule for commands on an existing key: the actor could have granted all of it. */
export function assertCanManageKey(actor: Actor, key: { scopes: readonly string[] }): void {
  if (actor.scopes === null) return; // the CLI and the system act as the operator
  const beyond = ungrantable(actor.scopes, key.scopes);
  if (beyond.length > 0) throw KeyBeyondAuthorityError.forScopes(beyond);
}
