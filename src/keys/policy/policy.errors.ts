import { DomainError, type FieldError } from '../../common/index.js';

// Codes are part of the API contract: clients match on them, so never rename one.

/** One broken rule: the field that breaks it, the rule, its limit and what the request had. */
export interface PolicyBreach extends FieldError {
  rule: string;
  limit: unknown;
  got: unknown;
}

/** A create, rotate or update that breaks the tenant's effective policy (422). */
export class PolicyViolationError extends DomainError {
  static of(breaches: PolicyBreach[]): PolicyViolationError {
    const rules = breaches.map((b) => `${b.rule} (${b.field} ${b.message})`).join('; ');
    return new PolicyViolationError('unprocessable', 'POLICY.VIOLATION', `The tenant's key policy refuses this: ${rules}`, breaches);
  }
}

/** Setting a policy is for admins (and the CLI): a tenant's own managers may only read theirs. */
export class PolicyForbiddenError extends DomainError {
  static create(): PolicyForbiddenError {
    return new PolicyForbiddenError(
      'forbidden',
      'POLICY.FORBIDDEN',
      "Only an admin key (or the CLI) may set a key policy; a tenant's own keys may read its policy but not change it",
    );
  }
}
