import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKeysFile, SecretScanningKeys } from './secret-scanning-keys.js';

const pem = (type: 'ec' | 'rsa'): string =>
  (type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('rsa', { modulusLength: 1024 })).publicKey
    .export({ type: 'spki', format: 'pem' })
    .toString();
const file = (...keys: { key_identifier: unknown; key: unknown }[]): string =>
  JSON.stringify({ public_keys: keys.map((k) => ({ ...k, is_current: true })) });

describe('parseKeysFile (GitHub /meta/public_keys/secret_scanning JSON)', () => {
  it('reads every key by its identifier', () => {
    const keys = parseKeysFile(file({ key_identifier: 'abc123', key: pem('ec') }, { key_identifier: 'def456', key: pem('ec') }));
    expect([...keys.keys()]).toEqual(['abc123', 'def456']);
  });

  it.each([
    ['not JSON', '{', /is not JSON/],
    ['no list', '{}', /no "public_keys" array/],
    ['an empty list', '{"public_keys":[]}', /empty/],
    ['a bad identifier', file({ key_identifier: 'a b', key: pem('ec') }), /public_keys\[0\]\.key_identifier/],
    ['a key that is no PEM', file({ key_identifier: 'a', key: 'MFkw…' }), /public_keys\[0\]\.key is not a PEM/],
    ['an RSA key', file({ key_identifier: 'a', key: pem('rsa') }), /must be an ECDSA P-256 key/],
  ])('refuses %s, saying where', (_what, text, message) => {
    expect(() => parseKeysFile(text)).toThrow(message);
  });
});

describe('SecretScanningKeys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyledger-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops the start on a file that is set but missing, naming it', async () => {
    const missing = join(dir, 'missing.json');
    await expect(new SecretScanningKeys(missing).load()).rejects.toThrow(`SECRET_SCANNING_KEYS_FILE ${missing}: cannot be read (ENOENT)`);
  });

  it('keeps the keys it had when the file changes into something it cannot use', async () => {
    const path = join(dir, 'keys.json');
    writeFileSync(path, file({ key_identifier: 'current', key: pem('ec') }));
    const sut = new SecretScanningKeys(path);
    await sut.load();
    writeFileSync(path, '{ half a file');
    expect(await sut.get('current')).toBeDefined();
  });
});
