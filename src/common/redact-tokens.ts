/**
 * Anything shaped like a keyledger key, whatever its prefix: `<prefix>_<publicId 12>_<secret + checksum 34>`.
 * Deliberately loose (no checksum check): a mistyped key is still somebody's secret.
 */
const TOKEN_LIKE = /[a-z][a-z0-9]*(?:_[a-z0-9]+)*_[0-9A-Za-z]{12}_[0-9A-Za-z]{34}/g;

export const REDACTED_KEY = '[redacted key]';

/** Replaces every key-shaped substring: for text that echoes client input (errors, request metadata). */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_LIKE, REDACTED_KEY);
}

export function containsToken(text: string): boolean {
  return text.search(TOKEN_LIKE) !== -1;
}
