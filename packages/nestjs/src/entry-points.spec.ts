import * as root from './index.js';
import * as internal from './internal.js';

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
});
