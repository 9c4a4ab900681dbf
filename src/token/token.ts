import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  BASE62,
  CHECKSUM_LENGTH,
  FIXED_TAIL_LENGTH,
  MAX_PREFIX_LENGTH,
  PUBLIC_ID_LENGTH,
  SECRET_LENGTH,
  TOKEN_PREFIX_PATTERN,
  hasValidChecksum,
  isBase62Run,
  tokenPublicId,
} from '@keyledger/nestjs';
import { ValidationError } from '../common/index.js';

/** Issuing keys; the token's shape, checksum and digest are read by @keyledger/nestjs, which the guard and the registry share. */

export const DEFAULT_TOKEN_PREFIX = 'kl_live';
export const TEST_TOKEN_PREFIX = 'kl_test';

/**
 * For secret scanners (GitHub secret scanning custom patterns, gitleaks, trufflehog): matches
 * tokens with the default prefixes `kl_live` and `kl_test`. The trailing `\b` stops a match
 * inside a longer word-character run; base62 has no `_`, so the two separators are unambiguous.
 * Scanners can confirm a hit offline with the CRC32 in the last 6 characters (see parseToken).
 */
export const TOKEN_SCANNER_REGEX = '\\bkl_(?:live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{34}\\b';

export type ParsedToken = { readonly ok: true; readonly prefix: string; readonly publicId: string } | { readonly ok: false };

const INVALID: ParsedToken = Object.freeze({ ok: false });

export function isValidTokenPrefix(prefix: string): boolean {
  return prefix.length <= MAX_PREFIX_LENGTH && TOKEN_PREFIX_PATTERN.test(prefix);
}

/** A fresh secret under a new publicId; pass the key's publicId to rotate (a publicId is never reissued). */
export function generateToken(prefix: string = DEFAULT_TOKEN_PREFIX, publicId?: string): { token: string; publicId: string } {
  if (!isValidTokenPrefix(prefix)) {
    throw ValidationError.field('prefix', `must match ${TOKEN_PREFIX_PATTERN.source} and be at most ${MAX_PREFIX_LENGTH} characters`);
  }
  if (publicId !== undefined && (publicId.length !== PUBLIC_ID_LENGTH || !isBase62Run(publicId, 0, PUBLIC_ID_LENGTH))) {
    throw new Error(`generateToken: ${JSON.stringify(publicId)} is not a publicId`);
  }
  const id = publicId ?? randomBase62(PUBLIC_ID_LENGTH);
  const body = `${prefix}_${id}_${randomBase62(SECRET_LENGTH)}`;
  return { token: body + encodeChecksum(crc32(body)), publicId: id };
}

/** A token's parts, once its shape and its checksum are right. */
export function parseToken(raw: string): ParsedToken {
  const publicId = tokenPublicId(raw);
  if (publicId === undefined || !hasValidChecksum(raw)) return INVALID;
  return { ok: true, prefix: raw.slice(0, raw.length - FIXED_TAIL_LENGTH), publicId };
}

/** HMAC-SHA-256 keyed with the server-side pepper; plain SHA-256 only where no pepper is configured. */
export function hashToken(token: string, pepper?: Buffer): Buffer {
  if (pepper === undefined) return createHash('sha256').update(token, 'utf8').digest();
  // An empty key would silently downgrade the HMAC to a keyless hash that differs from SHA-256.
  if (pepper.length === 0) throw new Error('hashToken: the pepper must not be empty');
  return createHmac('sha256', pepper).update(token, 'utf8').digest();
}

/** Constant-time comparison; the length check only reveals the hash length, which is public. */
export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // 248 = 4 × 62: dropping bytes ≥ 248 makes `byte % 62` uniform (no modulo bias).
    // Asking for a few extra bytes makes a second round rare (each byte is kept with p = 248/256).
    for (const byte of randomBytes(length + 8)) {
      if (byte >= 248) continue;
      out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function encodeChecksum(value: number): string {
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}
