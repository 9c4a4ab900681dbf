// The key token format and the scope language: issuing here, reading (shape, checksum, digest, scope check) in @keyledger/nestjs.
export {
  DEFAULT_TOKEN_PREFIX,
  TEST_TOKEN_PREFIX,
  TOKEN_SCANNER_REGEX,
  generateToken,
  parseToken,
  hashToken,
  hashesEqual,
  isValidTokenPrefix,
  type ParsedToken,
} from './token.js';
export {
  MAX_SCOPES,
  SCOPE_PATTERN,
  assertGrantable,
  isValidScope,
  normalizeScopes,
  ungrantable,
  ScopeNotGrantableError,
} from './scopes.js';
export {
  ADMIN_SCOPE,
  MAX_PREFIX_LENGTH,
  TOKEN_PREFIX_PATTERN,
  digestFromHex,
  hasScopes,
  hasValidChecksum,
  scopeCovers,
  tokenDigester,
  tokenPublicId,
} from '@keyledger/nestjs';
