import { randomBytes, randomUUID } from 'node:crypto';
import type { EventMetadata, NewEvent } from '../../src/event-store/index.js';
import { KeyCreated, type KeyCreatedPayload } from '../../src/keys/domain/events/key-created.event.js';
import { KeyRotated, type KeyRotatedPayload } from '../../src/keys/domain/events/key-rotated.event.js';

const TENANTS = Array.from({ length: 50 }, () => randomUUID());
const SCOPES = ['keys:read', 'orders:write'];
const DAY_MS = 86_400_000;

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

/** A 64-hex digest, like the HMAC-SHA-256 the domain stores. */
export function secretHash(): string {
  return randomBytes(32).toString('hex');
}

/** A KeyCreated as the domain records it (about 370 bytes of JSON). */
export function keyCreated(keyId: string, hash: string): NewEvent {
  const now = Date.now();
  const payload: KeyCreatedPayload = {
    keyId,
    publicId: `kl_${randomBytes(9).toString('base64url')}`,
    prefix: 'kl_live',
    tenantId: pick(TENANTS),
    name: `checkout ${keyId.slice(0, 8)}`,
    scopes: SCOPES.slice(0, 1 + Math.floor(Math.random() * SCOPES.length)),
    tags: { env: 'prod' },
    expiresAt: new Date(now + 90 * DAY_MS).toISOString(),
    secretHash: hash,
    occurredAt: new Date(now).toISOString(),
  };
  return { type: KeyCreated.type, schemaVersion: KeyCreated.schemaVersion, payload };
}

/** The rotation that follows a create (about 290 bytes): version 2 of the stream. */
export function keyRotated(previousHash: string): NewEvent {
  const now = Date.now();
  const payload: KeyRotatedPayload = {
    secretHash: secretHash(),
    previousSecretHash: previousHash,
    graceEndsAt: new Date(now + DAY_MS).toISOString(),
    expiresAt: new Date(now + 90 * DAY_MS).toISOString(),
    occurredAt: new Date(now).toISOString(),
  };
  return { type: KeyRotated.type, schemaVersion: KeyRotated.schemaVersion, payload };
}

/** Request metadata as the HTTP layer would attach it. */
export function requestMetadata(): EventMetadata {
  return {
    actor: `key:${randomUUID()}`,
    requestId: randomUUID(),
    ip: `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`,
    userAgent: 'keyledger-sdk/1.4.2 node/20.19.0',
  };
}

/** The stream naming of src/keys: `key-<keyId>`. */
const STREAM_PREFIX = 'key-';

/**
 * One key's life as a bench worker drives it: a create at 'no-stream', then a rotate at version 1,
 * then a fresh key. `next()` returns the step to perform; the caller appends or inserts it.
 */
export class KeyLifecycle {
  private current: { keyId: string; hash: string } | undefined;

  next(): { streamId: string; expected: 'no-stream' | 1; event: NewEvent; metadata: EventMetadata } {
    const metadata = requestMetadata();
    if (this.current) {
      const { keyId, hash } = this.current;
      this.current = undefined;
      return { streamId: `${STREAM_PREFIX}${keyId}`, expected: 1, event: keyRotated(hash), metadata };
    }
    const keyId = randomUUID();
    const hash = secretHash();
    this.current = { keyId, hash };
    return { streamId: `${STREAM_PREFIX}${keyId}`, expected: 'no-stream', event: keyCreated(keyId, hash), metadata };
  }
}
