import { DomainError } from '../../common/index.js';

// Codes are part of the API contract: clients match on them, so never rename one.

/** The id is the caller's input, so it is taken for the call site's sake and never echoed. */
export class KeyNotFoundError extends DomainError {
  static withId(_requestedId: string): KeyNotFoundError {
    return new KeyNotFoundError('not-found', 'KEY.NOT_FOUND', 'No API key with that id was found');
  }

  static notYetCreated(_requestedId: string, _at: Date): KeyNotFoundError {
    return new KeyNotFoundError('not-found', 'KEY.NOT_FOUND', 'No API key with that id existed at that time');
  }
}

/** Expired and revoked are terminal: no command changes such a key again. */
export class KeyInactiveError extends DomainError {
  static forKey(keyId: string, status: 'expired' | 'revoked'): KeyInactiveError {
    return new KeyInactiveError('conflict', 'KEY.INACTIVE', `API key ${keyId} is ${status} and can no longer be changed`);
  }
}

/** A TTL expiry (from the sweeper) for a key whose expiresAt has not passed, or that has none. */
export class KeyExpiryNotDueError extends DomainError {
  static forKey(keyId: string, expiresAt: Date | null): KeyExpiryNotDueError {
    const when = expiresAt === null ? 'has no expiry' : `expires at ${expiresAt.toISOString()}`;
    return new KeyExpiryNotDueError('conflict', 'KEY.EXPIRY_NOT_DUE', `API key ${keyId} ${when}`);
  }
}

/** A rotate or update of a key whose stream holds an event this version cannot read. */
export class KeyHistoryUnreadableError extends DomainError {
  static forKey(keyId: string, version: number, problem: string): KeyHistoryUnreadableError {
    return new KeyHistoryUnreadableError(
      'conflict',
      'KEY.UNREADABLE_HISTORY',
      `API key ${keyId} has an event this version of keyledger cannot read (stream version ${version}: ${problem}); ` +
        'it can still be revoked or expired, but not rotated or changed until a version that reads it is deployed',
    );
  }
}
