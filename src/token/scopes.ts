import { scopeCovers } from '@keyledger/nestjs';
import { DomainError, ValidationError } from '../common/index.js';

/**
 * Scopes are `resource[:segment…]`, e.g. `invoices:read`. A segment that is exactly `*` is a
 * wildcard when held; in a wanted scope it is literal, so only a holder of a `*` (or `admin`) can
 * grant a `*`.
 */
export const SCOPE_PATTERN = /^[a-z][a-z0-9_-]*(:[a-z0-9_*-]+)*$/;
export const MAX_SCOPES = 64;
export const MAX_SCOPE_LENGTH = 128; // keeps rows, logs and error messages bounded

export function isValidScope(scope: string): boolean {
  return typeof scope === 'string' && scope.length <= MAX_SCOPE_LENGTH && SCOPE_PATTERN.test(scope);
}

/** Validated, de-duplicated and sorted, so equal sets compare (and event) equal. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  // Typed callers pass arrays, but a request body may not; `unknown` keeps isArray from yielding any[].
  const raw: unknown = scopes;
  if (!Array.isArray(raw)) throw ValidationError.field('scopes', 'must be an array of strings');
  const bad = scopes.findIndex((scope) => !isValidScope(scope));
  if (bad !== -1) {
    // The position, never the value: an error message echoes no input.
    throw ValidationError.field('scopes', `scope ${bad + 1} must match ${SCOPE_PATTERN.source}, at most ${MAX_SCOPE_LENGTH} characters`);
  }
  const unique = [...new Set(scopes)].sort();
  if (unique.length > MAX_SCOPES) throw ValidationError.field('scopes', `at most ${MAX_SCOPES} scopes, got ${unique.length}`);
  return unique;
}

/** The wanted scopes the holder does not cover, in the order given. */
export function ungrantable(held: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((scope) => !held.some((h) => scopeCovers(h, scope)));
}

export function assertGrantable(held: readonly string[], wanted: readonly string[]): void {
  const missing = ungrantable(held, wanted);
  if (missing.length > 0) throw ScopeNotGrantableError.forScopes(missing);
}

/** Nobody grants a scope they do not hold themselves. */
export class ScopeNotGrantableError extends DomainError {
  static forScopes(scopes: readonly string[]): ScopeNotGrantableError {
    const list = scopes.join(', ');
    return new ScopeNotGrantableError('forbidden', 'KEY.SCOPE_NOT_GRANTABLE', `You cannot grant scopes you do not hold: ${list}`, [
      { field: 'scopes', message: `not held by the caller: ${list}` },
    ]);
  }
}
