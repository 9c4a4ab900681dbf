// `@keyledger/nestjs/token-format`: the key token's shape, checksum and publicId, and redaction,
// with nothing of Nest or PostgreSQL: for tools that read text for keys (the keyledger CLI's
// `scan`, its error messages) and must start in milliseconds. The root entry point exports the same.
export { MAX_PREFIX_LENGTH, hasValidChecksum, tokenPublicId } from './token.js';
export { REDACTED_KEY, containsToken, redactTokens } from './redact-tokens.js';
