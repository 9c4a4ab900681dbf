import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { canonicalJson } from '../../src/audit/index.js';

/**
 * The audit chain hashes canonicalJson's text, so its form can never change without breaking
 * every stored chain. This holds it to RFC 8785 (JCS) as the `canonicalize` package writes it,
 * over a seeded generated corpus (fast-check; a failure prints its seed and shrunk value).
 */

/** Characters that exercise escaping, sorting by UTF-16 code unit, and UTF-8 width. */
const TRICKY = [
  '',
  'a',
  'B',
  '1',
  '10',
  '9',
  '_',
  ' ',
  '"',
  '\\',
  '/',
  '\b',
  '\f',
  '\n',
  '\r',
  '\t',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u0080',
  'ö',
  'ß',
  '€',
  '\u2028',
  '\u2029',
  '\ufb33',
  '\uffff',
  '😀',
  '\u{10ffff}',
  'e\u0301',
];

const text = fc.oneof(
  fc.string({ unit: 'binary' }), // any code point, astral ones as surrogate pairs
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary-ascii' }), // control characters
  fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 6 }),
);

const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }), // every finite double, -0 and subnormals included
  fc.integer(),
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    0.1 + 0.2,
    1 / 3,
    4.5,
    2e-3,
    1e-6,
    1e-7,
    1e20,
    1e21,
    1e30,
    1e-27,
    5e-324,
    -5e-324,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
    2 ** 53 + 2,
    -(2 ** 31),
    2 ** 32,
    333333333.3333333,
  ),
);

const { value } = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), number, text, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  object: fc.dictionary(text, tie('value'), { maxKeys: 8 }),
}));

describe('canonicalJson and RFC 8785 (the canonicalize package)', () => {
  it('writes what canonicalize writes for 10,000 generated JSON values', () => {
    fc.assert(
      fc.property(value, (doc) => {
        expect(canonicalJson(doc)).toBe(canonicalize(doc));
      }),
      { seed: 8785, numRuns: 10_000 },
    );
  });

  it("writes RFC 8785's serialization example byte for byte", () => {
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`) as unknown;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(input)).toBe(expected);
    expect(canonicalize(input)).toBe(expected);
  });

  it("sorts keys by UTF-16 code unit, as RFC 8785's sorting example does (an astral key before U+FB33 and U+FFFF)", () => {
    const input = { '\u20ac': 0, '\r': 0, '\ufb33': 0, '\uffff': 0, 1: 0, '\u{1f600}': 0, '\u0080': 0, '\u00f6': 0 };
    const expected = '{"\\r":0,"1":0,"\u0080":0,"ö":0,"€":0,"😀":0,"\ufb33":0,"\uffff":0}';
    expect(canonicalJson(input)).toBe(expected);
    expect(canonicalize(input)).toBe(expected);
  });

  // Outside I-JSON (RFC 7493), where RFC 8785 has no canonical form and canonicalize throws,
  // canonicalJson writes what JSON.stringify writes. Kept, because the chain's form must not move,
  // and no event the registry writes reaches it: jsonb refuses a lone surrogate, and the only
  // non-finite number JSON.parse can make of jsonb text is from a number beyond 1.8e308.
  it('writes what JSON.stringify writes where RFC 8785 refuses (a lone surrogate, a non-finite number)', () => {
    expect(canonicalJson({ s: '\ud800' })).toBe('{"s":"\\ud800"}');
    expect(() => canonicalize({ s: '\ud800' })).toThrow(/surrogate/i);
    expect(canonicalJson([Number.NaN, Number.POSITIVE_INFINITY])).toBe('[null,null]');
    expect(() => canonicalize([Number.NaN])).toThrow(/NaN/);
  });
});
