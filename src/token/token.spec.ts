import { createHash, createHmac, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ValidationError } from '../common/index.js';
import {
  digestFromHex,
  hasValidChecksum,
  MAX_PREFIX_LENGTH,
  MAX_TOKEN_LENGTH,
  TOKEN_DIGESTERS,
  tokenDigester,
  type TokenDigesterName,
} from '@keyledger/nestjs';
import {
  DEFAULT_TOKEN_PREFIX,
  generateToken,
  hashesEqual,
  hashToken,
  parseToken,
  TEST_TOKEN_PREFIX,
  TOKEN_SCANNER_REGEX,
} from './token.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Rewrites the checksum so a hand-made token passes the CRC and only the rule under test can fail. */
function withValidChecksum(body: string): string {
  let value = crc32(body);
  let checksum = '';
  for (let i = 0; i < 6; i++) {
    checksum = BASE62[value % 62] + checksum;
    value = Math.floor(value / 62);
  }
  return body + checksum;
}

const SECRET = 'a'.repeat(28);
const PUBLIC_ID = 'AbCdEf012345';

describe('token', () => {
  describe('generateToken', () => {
    it('builds <prefix>_<publicId>_<secret><checksum> with the default kl_live prefix', () => {
      const { token, publicId } = generateToken();

      expect(token).toMatch(/^kl_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{34}$/);
      expect(token.slice(8, 20)).toBe(publicId);
    });

    it('uses the given prefix, including one with underscores', () => {
      expect(generateToken(TEST_TOKEN_PREFIX).token).toMatch(/^kl_test_/);
      expect(generateToken('acme_prod_v2').token).toMatch(/^acme_prod_v2_[0-9A-Za-z]{12}_/);
    });

    it.each(['', 'KL_live', '1kl', 'kl__live', 'kl_live_', '_kl', 'kl-live', 'a'.repeat(153)])('rejects the prefix %j', (prefix) => {
      expect(() => generateToken(prefix)).toThrow(ValidationError);
      expect(() => generateToken(prefix)).toThrow(expect.objectContaining({ details: [expect.objectContaining({ field: 'prefix' })] }));
    });

    it('keeps a given publicId, with a fresh secret, for rotation', () => {
      const first = generateToken('kl_test');
      const second = generateToken('kl_test', first.publicId);

      expect(second.publicId).toBe(first.publicId);
      expect(parseToken(second.token)).toEqual({ ok: true, prefix: 'kl_test', publicId: first.publicId });
      expect(second.token).not.toBe(first.token);
    });

    it('refuses a given publicId that is not 12 base62 characters', () => {
      expect(() => generateToken('kl_live', 'short')).toThrow(/not a publicId/);
      expect(() => generateToken('kl_live', 'AbCdEf01234_')).toThrow(/not a publicId/);
    });

    it('gives every token a fresh publicId and secret', () => {
      const tokens = Array.from({ length: 500 }, () => generateToken());

      expect(new Set(tokens.map((t) => t.publicId)).size).toBe(500);
      expect(new Set(tokens.map((t) => t.token.slice(21, 49))).size).toBe(500);
    });

    it('draws secrets from the whole base62 alphabet', () => {
      const seen = new Set(Array.from({ length: 1000 }, () => generateToken().token.slice(21, 49)).join(''));

      expect([...seen].sort().join('')).toBe([...BASE62].sort().join(''));
    });
  });

  describe('parseToken', () => {
    it('round-trips a generated token to its publicId and prefix', () => {
      for (const prefix of [DEFAULT_TOKEN_PREFIX, TEST_TOKEN_PREFIX, 'acme_prod_v2', 'x']) {
        const { token, publicId } = generateToken(prefix);

        expect(parseToken(token)).toEqual({ ok: true, prefix, publicId });
      }
    });

    it('rejects every one-character typo, anywhere in the token', () => {
      const { token } = generateToken();

      for (let i = 0; i < token.length; i++) {
        const typo = token[i] === 'a' ? 'b' : 'a';
        const mistyped = token.slice(0, i) + typo + token.slice(i + 1);

        expect({ i, parsed: parseToken(mistyped) }).toEqual({ i, parsed: { ok: false } });
      }
    });

    it('rejects two swapped neighbouring characters', () => {
      const { token } = generateToken();
      const i = token.length - 10;
      const swapped = token.slice(0, i) + token[i + 1] + token[i] + token.slice(i + 2);

      expect(parseToken(swapped).ok).toBe(swapped === token);
    });

    it('accepts a well-formed hand-made token whose checksum is right', () => {
      expect(parseToken(withValidChecksum(`kl_live_${PUBLIC_ID}_${SECRET}`))).toEqual({ ok: true, prefix: 'kl_live', publicId: PUBLIC_ID });
    });

    it.each([
      ['an empty string', ''],
      ['the bare prefix', 'kl_live_'],
      ['a token missing its checksum', `kl_live_${PUBLIC_ID}_${SECRET}`],
      ['a publicId one character short', withValidChecksum(`kl_live_${PUBLIC_ID.slice(1)}_${SECRET}`)],
      ['a secret one character long', withValidChecksum(`kl_live_${PUBLIC_ID}_${SECRET}a`)],
      ['a missing prefix', withValidChecksum(`_${PUBLIC_ID}_${SECRET}`)],
      ['an upper-case prefix', withValidChecksum(`KL_live_${PUBLIC_ID}_${SECRET}`)],
      ['a prefix starting with a digit', withValidChecksum(`1kl_${PUBLIC_ID}_${SECRET}`)],
      ['a doubled underscore in the prefix', withValidChecksum(`kl__live_${PUBLIC_ID}_${SECRET}`)],
      ['a hyphen in the publicId', withValidChecksum(`kl_live_AbCdEf-12345_${SECRET}`)],
      ['an underscore in the secret', withValidChecksum(`kl_live_${PUBLIC_ID}_${'a'.repeat(27)}_`)],
      ['a non-ASCII letter in the secret', withValidChecksum(`kl_live_${PUBLIC_ID}_${'a'.repeat(27)}é`)],
      ['surrounding whitespace', ` ${generateToken().token}`],
      ['a Bearer scheme left in', `Bearer ${generateToken().token}`],
    ])('rejects %s', (_label, raw) => {
      expect(parseToken(raw)).toEqual({ ok: false });
    });

    it('rejects anything longer than 200 characters before looking at it', () => {
      const longest = withValidChecksum(`${'k'.repeat(MAX_TOKEN_LENGTH - 48)}_${PUBLIC_ID}_${SECRET}`);

      expect(longest).toHaveLength(MAX_TOKEN_LENGTH);
      expect(parseToken(longest).ok).toBe(true);
      expect(parseToken(withValidChecksum(`k${'k'.repeat(MAX_TOKEN_LENGTH - 48)}_${PUBLIC_ID}_${SECRET}`))).toEqual({ ok: false });
      expect(parseToken('x'.repeat(1_000_000))).toEqual({ ok: false });
    });

    it('returns { ok: false } instead of throwing for input that is not a string', () => {
      const notStrings: unknown[] = [undefined, null, 42, ['kl_live'], {}];
      for (const raw of notStrings) {
        expect(parseToken(raw as string)).toEqual({ ok: false });
      }
    });
  });

  describe('checksum (zlib.crc32)', () => {
    // Tokens issued before zlib.crc32 replaced the hand-written CRC (docs/cli.md shows the first
    // two; the others were issued by the table-driven version): the format must not move.
    const ISSUED = [
      'kl_live_T9M7vgZFY2Xv_4IDVeXDofpcaTxnaCvEnC37YWRaC2stm93',
      'kl_live_T9M7vgZFY2Xv_AQWuqJbcbV2BzlJ8i7a4G4a4aFTQ43D23l',
      'kl_test_0J3sUgWoX8kK_cY5wGXd7y8DJt1vSs2RBnQm9zFxq1R061c',
      'acme_prod_v2_Zz09AbCdEfGh_qlsZ3mvFK1FUbkwFCJ6ZUBwfTN9W1W8TTK',
    ];

    it.each(ISSUED)('still accepts the issued token %s, and refuses it with any checksum character changed', (token) => {
      expect(hasValidChecksum(token)).toBe(true);
      expect(parseToken(token)).toEqual(expect.objectContaining({ ok: true }));
      for (let i = token.length - 6; i < token.length; i++) {
        const changed = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
        expect(hasValidChecksum(changed)).toBe(false);
      }
    });
  });

  describe('hashToken', () => {
    const { token } = generateToken();
    const pepper = Buffer.from('a server-side pepper of enough length');

    it('is SHA-256 of the token when no pepper is set', () => {
      expect(hashToken(token)).toEqual(createHash('sha256').update(token).digest());
    });

    it('is HMAC-SHA-256 keyed with the pepper when one is set', () => {
      expect(hashToken(token, pepper)).toEqual(createHmac('sha256', pepper).update(token).digest());
      expect(hashToken(token, pepper)).not.toEqual(hashToken(token));
    });

    it('refuses an empty pepper rather than hash with an empty key', () => {
      expect(() => hashToken(token, Buffer.alloc(0))).toThrow('pepper must not be empty');
    });
  });

  describe('hashesEqual', () => {
    const a = hashToken('one');

    it('is true only for identical hashes', () => {
      expect(hashesEqual(a, Buffer.from(a))).toBe(true);
      expect(hashesEqual(a, hashToken('two'))).toBe(false);
    });

    it('is false, without throwing, for hashes of different lengths', () => {
      expect(hashesEqual(a, a.subarray(0, 16))).toBe(false);
      expect(hashesEqual(Buffer.alloc(0), a)).toBe(false);
    });
  });

  describe('TOKEN_SCANNER_REGEX', () => {
    const scanner = new RegExp(TOKEN_SCANNER_REGEX, 'g');

    it('finds kl_live and kl_test tokens inside surrounding text', () => {
      const live = generateToken(DEFAULT_TOKEN_PREFIX).token;
      const test = generateToken(TEST_TOKEN_PREFIX).token;

      expect(`export API_KEY="${live}"\nother=${test};`.match(scanner)).toEqual([live, test]);
    });

    it('ignores other prefixes and tokens glued into longer words', () => {
      const { token } = generateToken();

      expect(generateToken('acme').token.match(scanner)).toBeNull();
      expect(`x${token}`.match(scanner)).toBeNull();
      expect(`${token}9`.match(scanner)).toBeNull();
    });
  });
});

describe.each(TOKEN_DIGESTERS)('tokenDigester, %s implementation', (implementation) => {
  it('gives hashToken’s HMAC-SHA-256, as latin1, for every pepper length around the block size and any string', () => {
    const inputs = [
      ...Array.from({ length: 50 }, () => generateToken().token),
      generateToken('a'.repeat(MAX_PREFIX_LENGTH)).token, // the longest token there is
      '',
      'x',
      'a'.repeat(MAX_TOKEN_LENGTH),
      'a'.repeat(MAX_TOKEN_LENGTH + 1),
      'ünïcødé 😀',
      'tab\there',
      'lone \ud800 surrogate',
      '€'.repeat(MAX_TOKEN_LENGTH),
      '😀'.repeat(MAX_TOKEN_LENGTH / 2),
      `${generateToken().token}é`,
    ];
    for (const size of [1, 16, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200]) {
      const pepper = randomBytes(size);
      const digest = tokenDigester(pepper, implementation);
      for (const token of inputs) {
        expect(digest(token)).toBe(hashToken(token, pepper).toString('latin1'));
        expect(digest(token)).toBe(createHmac('sha256', pepper).update(token, 'utf8').digest('binary'));
      }
    }
  });

  it('matches node:crypto for every ASCII length on both sides of each SHA-256 block boundary, with and without a pepper', () => {
    const plain = tokenDigester(undefined, implementation);
    const pepper = randomBytes(32);
    const digest = tokenDigester(pepper, implementation);
    for (let length = 0; length <= 300; length++) {
      // every ASCII code, including controls and DEL, somewhere in the inputs
      const text = Array.from({ length }, (_, i) => String.fromCharCode((i * 37 + length) % 128)).join('');
      expect(digest(text)).toBe(createHmac('sha256', pepper).update(text, 'utf8').digest('binary'));
      expect(plain(text)).toBe(createHash('sha256').update(text, 'utf8').digest('binary'));
    }
  });

  it('gives the same digest whether a non-ASCII string came before it or not (no state leaks between calls)', () => {
    const pepper = randomBytes(32);
    const digest = tokenDigester(pepper, implementation);
    const token = generateToken().token;
    const expected = createHmac('sha256', pepper).update(token).digest('binary');
    expect(digest(token)).toBe(expected);
    digest(`${token.slice(0, 40)}é${'x'.repeat(100)}`);
    digest('y'.repeat(250));
    expect(digest(token)).toBe(expected);
  });

  it('is plain SHA-256 without a pepper, and refuses an empty one', () => {
    const token = generateToken().token;
    expect(tokenDigester(undefined, implementation)(token)).toBe(createHash('sha256').update(token).digest('binary'));
    expect(() => tokenDigester(Buffer.alloc(0), implementation)).toThrow(/must not be empty/);
  });
});

describe('tokenDigester', () => {
  it('refuses an implementation it does not have (a plain JS caller could pass any string)', () => {
    expect(() => tokenDigester(Buffer.from('p'), 'wasm' as TokenDigesterName)).toThrow(/no implementation "wasm" \(js, node\)/);
  });
});

describe('digestFromHex', () => {
  it('gives the latin1 string of the bytes, as Buffer does, for digests in either case and for anything else', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(32);
      const expected = bytes.toString('latin1');
      expect(digestFromHex(bytes.toString('hex'))).toBe(expected);
      expect(digestFromHex(bytes.toString('hex').toUpperCase())).toBe(expected);
    }
    for (const odd of ['', 'ab', 'zz'.repeat(32), `${'0'.repeat(63)}\u00e9`, 'f'.repeat(66)]) {
      expect(digestFromHex(odd)).toBe(Buffer.from(odd, 'hex').toString('latin1'));
    }
  });

  it('equals what tokenDigester gives for the same token', () => {
    const pepper = randomBytes(32);
    const token = generateToken().token;
    expect(digestFromHex(hashToken(token, pepper).toString('hex'))).toBe(tokenDigester(pepper)(token));
  });
});
