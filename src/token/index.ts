// The key token format and the scope language, shared by the keys domain (issuing) and the guard (verifying).
export {
  DEFAULT_TOKEN_PREFIX,
  TEST_TOKEN_PREFIX,
  TOKEN_SCANNER_REGEX,
  TOKEN_PREFIX_PATTERN,
  MAX_PREFIX_LENGTH,
  generateToken,
  parseToken,
  tokenPublicId,
  hasValidChecksum,
  hashToken,
  tokenDigester,
  hashesEqual,
  isValidTokenPrefix,
  type ParsedToken,
} from './token.js';
export {
  ADMIN_SCOPE,
  MAX_SCOPES,
  SCOPE_PATTERN,
  assertGrantable,
  hasScopes,
  isValidScope,
  normalizeScopes,
  scopeCovers,
  ungrantable,
  ScopeNotGrantableError,
} from './scopes.js';
