/**
 * SHA-256 (FIPS 180-4) of short ASCII strings, in JavaScript, for the verification hot path only.
 *
 * Why not node:crypto or @noble/hashes: inside a busy server (Fastify, Nest and the event loop
 * between two calls) each call into OpenSSL 3 takes a cold path, and @noble/hashes allocates its
 * HMAC state per call; in a tight loop the order differs, so only a server bench shows it. The
 * figures, the command (`DIGESTER=js|node npm run bench:http`) and the decision:
 * docs/adr/0002-token-digester.md.
 *
 * Issuing keys (hashToken) keeps node:crypto, and tests hold this to it for every length.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL_STATE = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** The message schedule, shared: the hot path is synchronous, so no two calls overlap. */
const schedule = new Int32Array(64);

/** One compression: folds the 16 big-endian words `block[offset, offset + 16)` into `state`. */
function compress(state: Int32Array, block: Int32Array, offset: number): void {
  const w = schedule;
  for (let i = 0; i < 16; i++) w[i] = block[offset + i];
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15];
    const y = w[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = state[0],
    b = state[1],
    c = state[2],
    d = state[3],
    e = state[4],
    f = state[5],
    g = state[6],
    h = state[7];
  for (let i = 0; i < 64; i++) {
    const t1 =
      (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
  state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0;
  state[7] = (state[7] + h) | 0;
}

/** The state after hashing one 64-byte block: an HMAC pad, hashed once per pepper instead of per call. */
export function stateAfterBlock(bytes: Uint8Array): Int32Array {
  if (bytes.length !== 64) throw new Error('stateAfterBlock: needs exactly one 64-byte block');
  const words = new Int32Array(16);
  for (let i = 0; i < 16; i++) words[i] = (bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3];
  const state = Int32Array.from(INITIAL_STATE);
  compress(state, words, 0);
  return state;
}

/** SHA-256's state before any input. */
export const SHA256_START: Readonly<Int32Array> = Int32Array.from(INITIAL_STATE);

/** The longest string sha256Ascii takes: 4 blocks with its padding. */
const MAX_ASCII_LENGTH = 247;

/** Scratch space, shared: every call runs to its end synchronously, so no two calls overlap. */
const block = new Int32Array(64);

/**
 * Continues a SHA-256 from `start` (the state after `prefixBytes` bytes, a multiple of 64) over an
 * ASCII string, and finishes it into `out` (8 big-endian words). Returns false, leaving `out`
 * untouched, for a string it does not take: a char above U+007F, or longer than MAX_ASCII_LENGTH.
 */
export function sha256Ascii(start: Readonly<Int32Array>, prefixBytes: number, text: string, out: Int32Array): boolean {
  const length = text.length;
  if (length > MAX_ASCII_LENGTH) return false;
  const blocks = (length + 9 + 63) >>> 6; // the text, 0x80 and the 64-bit length, in whole blocks
  block.fill(0, 0, blocks * 16);
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) {
      block.fill(0, 0, blocks * 16);
      return false;
    }
    block[i >>> 2] |= code << (24 - 8 * (i & 3));
  }
  block[length >>> 2] |= 0x80 << (24 - 8 * (length & 3));
  block[blocks * 16 - 1] = (prefixBytes + length) * 8; // the high word stays 0: far below 2^32 bits
  out.set(start);
  for (let b = 0; b < blocks; b++) compress(out, block, b * 16);
  block.fill(0, 0, blocks * 16); // no token bytes stay behind in module memory
  schedule.fill(0, 0, 16);
  return true;
}

/** Continues a SHA-256 from `start` over 32 bytes given as 8 words (an HMAC's inner digest) and finishes it into `out`. */
export function sha256Words(start: Readonly<Int32Array>, prefixBytes: number, words: Int32Array, out: Int32Array): void {
  block.set(words);
  block[8] = 0x80000000 | 0;
  block.fill(0, 9, 15);
  block[15] = (prefixBytes + 32) * 8;
  out.set(start);
  compress(out, block, 0);
}

/** 8 big-endian words as a 32-char latin1 string (one char per byte), built flat in one call. */
export function wordsToLatin1(w: Int32Array): string {
  return String.fromCharCode(
    w[0] >>> 24,
    (w[0] >>> 16) & 0xff,
    (w[0] >>> 8) & 0xff,
    w[0] & 0xff,
    w[1] >>> 24,
    (w[1] >>> 16) & 0xff,
    (w[1] >>> 8) & 0xff,
    w[1] & 0xff,
    w[2] >>> 24,
    (w[2] >>> 16) & 0xff,
    (w[2] >>> 8) & 0xff,
    w[2] & 0xff,
    w[3] >>> 24,
    (w[3] >>> 16) & 0xff,
    (w[3] >>> 8) & 0xff,
    w[3] & 0xff,
    w[4] >>> 24,
    (w[4] >>> 16) & 0xff,
    (w[4] >>> 8) & 0xff,
    w[4] & 0xff,
    w[5] >>> 24,
    (w[5] >>> 16) & 0xff,
    (w[5] >>> 8) & 0xff,
    w[5] & 0xff,
    w[6] >>> 24,
    (w[6] >>> 16) & 0xff,
    (w[6] >>> 8) & 0xff,
    w[6] & 0xff,
    w[7] >>> 24,
    (w[7] >>> 16) & 0xff,
    (w[7] >>> 8) & 0xff,
    w[7] & 0xff,
  );
}
