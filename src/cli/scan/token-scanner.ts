import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
// The token format without the registry's token module (which loads Nest): scanning is offline and starts at once.
import { hasValidChecksum, MAX_PREFIX_LENGTH, tokenPublicId } from '@keyledger/nestjs/token-format';

/** A keyledger token found in text: where, and whose. Never the secret. */
export interface TokenFinding {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 units, where the token's prefix starts. */
  column: number;
  prefix: string;
  publicId: string;
}

/**
 * A token's fixed tail: `_`, the 12-character publicId, `_`, secret and checksum (34), not followed
 * by another base62 character. Anchored on the `_`s, so each position is tried with bounded work
 * and a long line costs linear time (a pattern that began at the prefix would backtrack over every
 * lower-case run).
 */
const TAIL = /_[0-9A-Za-z]{12}_[0-9A-Za-z]{34}(?![0-9A-Za-z])/g;
const PREFIX_CHAR = /[a-z0-9_]/;
const PREFIX_START = /[a-z]/;

/**
 * The tokens in one line whose shape and CRC-32 checksum hold: a look-alike with a wrong checksum
 * (a typo, a made-up example, a redacted key) is not one. Any prefix (`KEY_PREFIX` is configurable):
 * the prefix is the longest run of prefix characters before the tail that makes the checksum right.
 */
export function findTokensInLine(text: string): Omit<TokenFinding, 'line'>[] {
  const found: Omit<TokenFinding, 'line'>[] = [];
  for (const match of text.matchAll(TAIL)) {
    const end = match.index + match[0].length;
    let first = match.index;
    while (first > 0 && match.index - first < MAX_PREFIX_LENGTH && PREFIX_CHAR.test(text[first - 1])) first--;
    for (let start = first; start < match.index; start++) {
      if (!PREFIX_START.test(text[start])) continue;
      const candidate = text.slice(start, end);
      const publicId = tokenPublicId(candidate);
      if (publicId !== undefined && hasValidChecksum(candidate)) {
        found.push({ column: start + 1, prefix: text.slice(start, match.index), publicId });
        break;
      }
    }
  }
  return found;
}

/** Reads `input` line by line (any size of file, constant memory but for the longest line) and yields every token found. */
export async function* scanLines(input: Readable): AsyncGenerator<TokenFinding> {
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    line++;
    for (const finding of findTokensInLine(text)) yield { line, ...finding };
  }
}
