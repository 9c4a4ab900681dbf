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

export class ValidationError extends DomainError {
  static of(details: FieldError[]): ValidationError {
    const message = details.map((d) => `${d.field}: ${d.message}`).join('; ');
    return new ValidationError('validation', 'VALIDATION', message, details);
  }

  static field(field: string, message: string): ValidationError {
    return ValidationError.of([{ field, message }]);
  }
}
