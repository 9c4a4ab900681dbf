import { Readable } from 'node:stream';
import { generateToken } from '../../token/index.js';
import { findTokensInLine, scanLines } from './token-scanner.js';

/** The same token with its last checksum character changed: a look-alike. */
const badChecksum = (token: string): string => token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');

describe('findTokensInLine', () => {
  it('finds a key with its column, prefix and publicId, whatever surrounds it', () => {
    const { token, publicId } = generateToken();
    for (const [text, column] of [
      [token, 1],
      [`API_KEY=${token}`, 9],
      [`"authorization": "Bearer ${token}",`, 26],
      [`export_${token}`, 8], // a prefix-shaped run before the key: the checksum says where the key starts
      [`xyz${token}`, 4],
    ] as const) {
      expect(findTokensInLine(text)).toEqual([{ column, prefix: 'kl_live', publicId }]);
    }
  });

  it('finds keys with a custom prefix and several keys on one line', () => {
    const a = generateToken('acme_prod2');
    const b = generateToken('kl_test');
    expect(findTokensInLine(`${a.token},${b.token}`).map((f) => [f.prefix, f.publicId])).toEqual([
      ['acme_prod2', a.publicId],
      ['kl_test', b.publicId],
    ]);
  });

  it('ignores look-alikes: a bad checksum, a wrong length, a key glued to more base62', () => {
    const { token } = generateToken();
    expect(findTokensInLine(badChecksum(token))).toEqual([]);
    expect(findTokensInLine('kl_live_a1B2c3D4e5F6_0123456789abcdefghijABCDEFGHIJklmnop')).toEqual([]); // the docs' example
    expect(findTokensInLine(token.slice(0, -1))).toEqual([]);
    expect(findTokensInLine(`${token}Z`)).toEqual([]);
    expect(findTokensInLine(token.toUpperCase())).toEqual([]);
  });

  it('never returns the secret', () => {
    const { token } = generateToken();
    expect(JSON.stringify(findTokensInLine(token))).not.toContain(token.slice(-34));
  });
});

describe('scanLines', () => {
  it('numbers lines from 1 across LF and CRLF endings', async () => {
    const a = generateToken();
    const b = generateToken();
    const found = [];
    for await (const f of scanLines(Readable.from([`one\r\n${a.token}\r\nthree\nfour ${b.token}\n`]))) found.push([f.line, f.publicId]);
    expect(found).toEqual([
      [2, a.publicId],
      [4, b.publicId],
    ]);
  });
});
