import type { VerificationCode } from './api-key-principal.js';

const REASONS: Record<Exclude<VerificationCode, 'VALID' | 'INSUFFICIENT_SCOPE' | 'UNAVAILABLE'>, string> = {
  MALFORMED: 'is not a well-formed keyledger key (check for a copy/paste error)',
  NOT_FOUND: 'is not a known key',
  EXPIRED: 'has expired',
  REVOKED: 'has been revoked',
};

/**
 * What the guard refuses with: an HTTP status and a stable code (`AUTH.…`). ApiKeyErrorFilter
 * renders it as `{ statusCode, code, message }`; an app with its own catch-all filter can do the same.
 */
export abstract class ApiKeyAuthError extends Error {
  abstract readonly statusCode: 401 | 403 | 503;

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnauthenticatedError extends ApiKeyAuthError {
  readonly statusCode = 401;

  static missing(): UnauthenticatedError {
    return new UnauthenticatedError(
      'AUTH.MISSING_KEY',
      'An API key is required: send it as "Authorization: Bearer <key>" or "x-api-key: <key>"',
    );
  }

  static invalid(code: keyof typeof REASONS): UnauthenticatedError {
    return new UnauthenticatedError(`AUTH.${code}`, `The API key ${REASONS[code]}`);
  }
}

export class InsufficientScopeError extends ApiKeyAuthError {
  readonly statusCode = 403;

  static missing(required: readonly string[]): InsufficientScopeError {
    return new InsufficientScopeError('AUTH.INSUFFICIENT_SCOPE', `This API key lacks the scope(s) required here: ${required.join(', ')}`);
  }
}

/**
 * The guard cannot know whether a key is still valid: its replica has been cut off from the
 * registry's database for longer than maxStalenessMs, so a revocation might have been missed.
 */
export class GuardUnavailableError extends ApiKeyAuthError {
  readonly statusCode = 503;

  static stale(staleForMs: number): GuardUnavailableError {
    return new GuardUnavailableError(
      'AUTH.UNAVAILABLE',
      `Keys cannot be verified right now: this service has not heard from the key registry for ${Math.round(staleForMs / 1000)} s; retry shortly`,
    );
  }
}
