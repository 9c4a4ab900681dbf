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

/** `%XX` (either case) to its byte and `+` to a space, repeated for double encoding: enough to see an ASCII key. */
function decodeForScan(text: string): string {
  let current = text;
  for (let round = 0; round < 3; round++) {
    const next = current.replace(/\+/g, ' ').replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * A request URL for a log line: every path segment and query-string name or value that holds a
 * key once decoded (percent-encoded in either case, `+` for spaces, encoded twice) is replaced
 * whole, and any plain key left is scrubbed.
 */
export function redactUrl(url: string): string {
  return redactTokens(
    url.replace(/[^/?&;#=]+/g, (part) =>
      (part.includes('%') || part.includes('+')) && containsToken(decodeForScan(part)) ? REDACTED_KEY : part,
    ),
  );
}
