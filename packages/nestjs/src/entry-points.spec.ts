import * as root from './index.js';
import * as internal from './internal.js';
import * as tokenFormat from './token-format.js';

describe('the entry points', () => {
  it("keeps the registry's plumbing out of the guard API and in /internal", () => {
    const plumbing = [
      'withTransaction',
      'createPool',
      'RetryBackoff',
      'isConnectionError',
      'EventNotifications',
      'encodeNotification',
      'keyStreamId',
      'copyOutBinary',
      'BinaryRows',
    ];
    for (const name of plumbing) {
      expect(name in root).toBe(false);
      expect(name in internal).toBe(true);
    }
  });

  it('exports the guard API from the root', () => {
    for (const name of [
      'ApiKeyAuthModule',
      'ApiKeyGuard',
      'RequireApiKey',
      'CurrentApiKey',
      'Public',
      'KeyVerifier',
      'ApiKeyErrorFilter',
    ]) {
      expect(name in root).toBe(true);
    }
  });

  it('exports the token checks and redaction from /token-format too, the same functions as the root', () => {
    const names = ['tokenPublicId', 'hasValidChecksum', 'MAX_PREFIX_LENGTH', 'redactTokens', 'containsToken', 'REDACTED_KEY'] as const;
    for (const name of names) expect(tokenFormat[name]).toBe(root[name]);
  });
});
