import { createHmac, hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { SHA256_START, sha256Ascii, sha256Words, stateAfterBlock, wordsToLatin1 } from './sha256.js';

/**
 * Reading keys: the token's shape and checksum, and its digest. Issuing them is the registry's.
 *
 * Token format: `<prefix>_<publicId>_<secret><checksum>`, e.g.
 * `kl_live_3xK9aB2cD4eF_<28 base62 chars><6 base62 chars>`.
 *
 * The checksum lets the guard reject a typo or a made-up string in memory, before any lookup;
 * it is not a security control (anyone can compute a CRC), the hashed secret is.
 */

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const PUBLIC_ID_LENGTH = 12; // 62^12 ≈ 2^71: collisions are for the store's unique index, not for luck alone
export const SECRET_LENGTH = 28; // 28 × log2(62) ≈ 166.7 bits of entropy (the brief asks for ≥ 160)
export const CHECKSUM_LENGTH = 6; // 62^6 ≈ 5.7e10 > 2^32, so any CRC32 fits
export const MAX_TOKEN_LENGTH = 200;

// `_` + publicId + `_` + secret + checksum: whatever is left of MAX_TOKEN_LENGTH is the prefix's.
export const FIXED_TAIL_LENGTH = 1 + PUBLIC_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH;
export const MAX_PREFIX_LENGTH = MAX_TOKEN_LENGTH - FIXED_TAIL_LENGTH;

export const TOKEN_PREFIX_PATTERN = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

const UNDERSCORE = 0x5f;

// Char code → base62 digit value, -1 when not base62; only ASCII codes are in range.
const BASE62_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE62.length; i++) BASE62_VALUE[BASE62.charCodeAt(i)] = i;

/**
 * The publicId of a string shaped like a token, or undefined; the checksum is left to
 * hasValidChecksum. Runs on every request, so it never throws, never uses a regex and allocates
 * only the publicId. Base62 has no `_`, so the last `_` must sit exactly 34 characters from the
 * end and the one before it 12 characters further left; checking those fixed positions from the
 * right is the whole structural scan.
 */
export function tokenPublicId(raw: string): string | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_TOKEN_LENGTH) return undefined;
  const end = raw.length;
  const secretStart = end - SECRET_LENGTH - CHECKSUM_LENGTH;
  const publicIdStart = secretStart - 1 - PUBLIC_ID_LENGTH;
  const prefixEnd = publicIdStart - 1;
  if (prefixEnd < 1) return undefined;
  if (raw.charCodeAt(secretStart - 1) !== UNDERSCORE || raw.charCodeAt(prefixEnd) !== UNDERSCORE) return undefined;
  if (!isBase62Run(raw, publicIdStart, secretStart - 1) || !isBase62Run(raw, secretStart, end)) return undefined;
  if (!isPrefixRun(raw, prefixEnd)) return undefined;
  return raw.slice(publicIdStart, secretStart - 1);
}

/**
 * Whether the last 6 characters of a string tokenPublicId accepted are the CRC-32 (IEEE) of the
 * rest. zlib.crc32 (Node ≥ 20.15; engines asks for ≥ 20.19) encodes a string as UTF-8, which for
 * a token, ASCII by then, is one byte per character: the checksum every issued key carries.
 */
export function hasValidChecksum(token: string): boolean {
  const checksumStart = token.length - CHECKSUM_LENGTH;
  return crc32(token.slice(0, checksumStart)) === decodeBase62(token, checksumStart, token.length);
}

/** SHA-256's block size: HMAC pads (or first hashes) its key to this length. */
const HMAC_BLOCK = 64;

/** One token's digest (HMAC-SHA-256 with the pepper, or SHA-256 without one) as a 32-char latin1 string, like the stored hashes. */
export type TokenDigest = (token: string) => string;

/**
 * The implementations of TokenDigest, giving the same bytes (unit-tested): `js` (this package's
 * SHA-256, the default) and `node` (node:crypto per call, e.g. for OpenSSL's FIPS provider).
 * Why `js`, and why @noble/hashes is not one of them: docs/adr/0002-token-digester.md.
 */
export const TOKEN_DIGESTERS = ['js', 'node'] as const;
export type TokenDigesterName = (typeof TOKEN_DIGESTERS)[number];

/** The digest function the guard's hot path calls for every token, by implementation. */
export function tokenDigester(pepper?: Buffer, implementation: TokenDigesterName = 'js'): TokenDigest {
  if (pepper !== undefined && pepper.length === 0) throw new Error('tokenDigester: the pepper must not be empty');
  switch (implementation) {
    case 'js':
      return jsDigester(pepper);
    case 'node':
      return pepper === undefined
        ? (token) => hash('sha256', token, 'binary')
        : (token) => createHmac('sha256', pepper).update(token, 'utf8').digest('binary');
  }
  throw new RangeError(`tokenDigester: no implementation ${JSON.stringify(implementation)} (${TOKEN_DIGESTERS.join(', ')})`);
}

/**
 * HMAC-SHA-256 (RFC 2104) with both pads hashed once per pepper and the rest (three compressions
 * for a token) in sha256.ts. A string that is no token (not ASCII, or longer than any token)
 * takes node:crypto instead.
 */
function jsDigester(pepper: Buffer | undefined): TokenDigest {
  const digest = new Int32Array(8);
  if (pepper === undefined) {
    return (token) => (sha256Ascii(SHA256_START, 0, token, digest) ? wordsToLatin1(digest) : hash('sha256', token, 'binary'));
  }
  const key = new Uint8Array(HMAC_BLOCK);
  key.set(pepper.length > HMAC_BLOCK ? hash('sha256', pepper, 'buffer') : pepper);
  const inner = stateAfterBlock(key.map((byte) => byte ^ 0x36));
  const outer = stateAfterBlock(key.map((byte) => byte ^ 0x5c));
  return (token) => {
    if (!sha256Ascii(inner, HMAC_BLOCK, token, digest)) return createHmac('sha256', pepper).update(token, 'utf8').digest('binary');
    sha256Words(outer, HMAC_BLOCK, digest, digest);
    return wordsToLatin1(digest);
  };
}

// Hex digit → value, -1 for any other char code below 128.
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}
const hexWords = new Int32Array(8);

/**
 * A stored digest, in hex, as the 32-char latin1 string tokenDigester produces, for the rows a
 * resync or refresh reads through node-postgres: decoded in JS, cheaper than a Buffer round trip
 * (docs/adr/0005-binary-copy-replica-load.md). Anything but 64 hex digits takes the Buffer path.
 */
export function digestFromHex(hex: string): string {
  if (hex.length !== 64) return Buffer.from(hex, 'hex').toString('latin1');
  let bad = 0;
  for (let w = 0; w < 8; w++) {
    let word = 0;
    for (let i = w * 8; i < w * 8 + 8; i++) {
      const code = hex.charCodeAt(i);
      const digit = code < 128 ? HEX_VALUE[code] : -1;
      bad |= digit;
      word = (word << 4) | (digit & 0xf);
    }
    hexWords[w] = word;
  }
  return bad < 0 ? Buffer.from(hex, 'hex').toString('latin1') : wordsToLatin1(hexWords);
}

// The caller has already checked the run is base62; 62^6 < 2^53, so the number stays exact.
function decodeBase62(text: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value = value * 62 + BASE62_VALUE[text.charCodeAt(i)];
  return value;
}

export function isBase62Run(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || BASE62_VALUE[code] === -1) return false;
  }
  return true;
}

// Same language as TOKEN_PREFIX_PATTERN over text[0, end): starts with a-z, `_` only between runs of [a-z0-9].
function isPrefixRun(text: string, end: number): boolean {
  let previous = UNDERSCORE;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const lower = code >= 0x61 && code <= 0x7a;
    const digit = code >= 0x30 && code <= 0x39;
    if (i === 0 ? !lower : !(lower || digit || (code === UNDERSCORE && previous !== UNDERSCORE))) return false;
    previous = code;
  }
  return previous !== UNDERSCORE;
}
