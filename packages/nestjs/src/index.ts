// The guard for NestJS services whose API keys live in a keyledger registry.
export { ApiKeyAuthModule, type ApiKeyAuthAsyncOptions } from './api-key-auth.module.js';
export { API_KEY_AUTH_OPTIONS, KEY_PEPPER, type ApiKeyAuthOptions } from './api-key-auth.options.js';
export { ApiKeyGuard, extractKey } from './api-key.guard.js';
export { RequireApiKey } from './require-api-key.decorator.js';
export type { RequireApiKeyOptions } from './require-api-key.metadata.js';
export { CurrentApiKey, PRINCIPAL_PROPERTY } from './current-api-key.decorator.js';
export { Public } from './public.decorator.js';
export { KeyVerifier, type RequestClient } from './key-verifier.js';
export { KeyReplica } from './key-replica.js';
export type { ReplicaRow } from './api-keys-columns.js';
export { pepperFingerprint, recordRegistryPepper } from './pepper-fingerprint.js';
export { ApiKeyAuthError, UnauthenticatedError, InsufficientScopeError, GuardUnavailableError } from './auth.errors.js';
export { ApiKeyErrorFilter } from './api-key-error.filter.js';
export type { ApiKeyPrincipal, VerificationCode, VerificationResult } from './api-key-principal.js';
export { refusalLogRecord, routeOf, targetOf, type AccessRefusal } from './access-refusal.js';

// Reading keys: the token's shape, checksum and digest, and the scope check.
export {
  BASE62,
  CHECKSUM_LENGTH,
  FIXED_TAIL_LENGTH,
  MAX_PREFIX_LENGTH,
  MAX_TOKEN_LENGTH,
  PUBLIC_ID_LENGTH,
  SECRET_LENGTH,
  TOKEN_PREFIX_PATTERN,
  digestFromHex,
  hasValidChecksum,
  isBase62Run,
  TOKEN_DIGESTERS,
  tokenDigester,
  tokenPublicId,
  type TokenDigest,
  type TokenDigesterName,
} from './token.js';
export { ADMIN_SCOPE, hasScopes, scopeCovers } from './scopes.js';
export { REDACTED_KEY, containsToken, redactTokens, redactUrl } from './redact-tokens.js';
export { UNSTORABLE_TEXT, isStorableText, storableText } from './storable-text.js';
