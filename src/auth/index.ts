export { ApiKeyAuthModule } from './api-key-auth.module.js';
export { ApiKeyGuard, extractKey } from './api-key.guard.js';
export { RequireApiKey, type RequireApiKeyOptions } from './require-api-key.decorator.js';
export { CurrentApiKey } from './current-api-key.decorator.js';
export { KeyVerifier } from './key-verifier.js';
export { KEY_PEPPER } from './key-pepper.js';
export { UnauthenticatedError, InsufficientScopeError } from './auth.errors.js';
export type { ApiKeyPrincipal, VerificationCode, VerificationResult } from './api-key-principal.js';
