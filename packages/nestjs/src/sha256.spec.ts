import { createHash, randomBytes } from 'node:crypto';
import { SHA256_START, sha256Ascii, sha256Words, stateAfterBlock, wordsToLatin1 } from './sha256.js';

function sha256(text: string): string | undefined {
  const out = new Int32Array(8);
  return sha256Ascii(SHA256_START, 0, text, out) ? Buffer.from(wordsToLatin1(out), 'latin1').toString('hex') : undefined;
}

describe('sha256 (the verification hot path)', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    expect(sha256('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('equals node:crypto on random ASCII of every length it takes, and refuses longer or non-ASCII text', () => {
    for (let length = 0; length <= 247; length++) {
      const text = Array.from(randomBytes(length), (byte) => String.fromCharCode(byte & 0x7f)).join('');
      expect(sha256(text)).toBe(createHash('sha256').update(text, 'latin1').digest('hex'));
    }
    expect(sha256('a'.repeat(248))).toBeUndefined();
    expect(sha256('caf\u00e9')).toBeUndefined();
  });

  it('continues from the state after a prefix block, as HMAC does with its pads', () => {
    const prefix = randomBytes(64);
    const start = stateAfterBlock(prefix);
    const out = new Int32Array(8);
    expect(sha256Ascii(start, 64, 'kl_live_token', out)).toBe(true);
    expect(Buffer.from(wordsToLatin1(out), 'latin1')).toEqual(createHash('sha256').update(prefix).update('kl_live_token').digest());

    const words = Int32Array.from({ length: 8 }, () => randomBytes(4).readInt32BE(0));
    const bytes = Buffer.alloc(32);
    words.forEach((w, i) => bytes.writeInt32BE(w, i * 4));
    sha256Words(start, 64, words, out);
    expect(Buffer.from(wordsToLatin1(out), 'latin1')).toEqual(createHash('sha256').update(prefix).update(bytes).digest());
    expect(() => stateAfterBlock(new Uint8Array(63))).toThrow(/64-byte/);
  });
});
