/**
 * The one error type the domain and application layers throw. `kind` decides the HTTP status
 * (mapped in one place: DomainErrorFilter); `code` is stable and documented for clients.
 */
export type DomainErrorKind =
  | 'validation' // 400
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'conflict' // 409
  | 'precondition-failed' // 412
  | 'unprocessable' // 422
  | 'rate-limited' // 429
  | 'unavailable'; // 503

export interface FieldError {
  field: string;
  message: string;
  /** A POLICY.VIOLATION's breach: the rule, its limit and what the request had. */
  rule?: string;
  limit?: unknown;
  got?: unknown;
}

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly details?: FieldError[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A stale If-Match (412): what the caller changes is no longer at the version it read. */
export class VersionMismatchError extends DomainError {
  /** Throws when the caller named the version it read (`expected`, from If-Match) and `actual` is another; `subject` as "The key". */
  static assert(code: string, subject: string, expected: number | undefined, actual: number): void {
    if (expected === undefined || expected === actual) return;
    throw new VersionMismatchError(
      'precondition-failed',
      code,
      `${subject} changed since you read it: If-Match was version ${expected}, it is now at version ${actual}. Reload it and retry.`,
    );
  }
}

export class ValidationError extends DomainError {
  static of(details: FieldError[]): ValidationError {
    const message = details.map((d) => `${d.field}: ${d.message}`).join('; ');
    return new ValidationError('validation', 'VALIDATION', message, details);
  }

  static field(field: string, message: string): ValidationError {
    return ValidationError.of([{ field, message }]);
  }
}
