import { DomainError } from '../common/domain-error.js';
import { ADMIN_SCOPE } from '../token/index.js';
import type { Actor } from './command-context.js';
import { KeyNotFoundError } from './domain/api-key.errors.js';

export class TenantForbiddenError extends DomainError {
  static create(tenantId: string): TenantForbiddenError {
    return new TenantForbiddenError('forbidden', 'TENANT.FORBIDDEN', `Your key may only manage keys of its own tenant, not "${tenantId}"`);
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
