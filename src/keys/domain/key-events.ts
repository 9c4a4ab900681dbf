import { KeyCreated } from './events/key-created.event.js';
import { KeyExpired } from './events/key-expired.event.js';
import { KeyRevoked } from './events/key-revoked.event.js';
import { KeyRotated } from './events/key-rotated.event.js';
import { KeyUpdated } from './events/key-updated.event.js';

export type KeyEvent = KeyCreated | KeyRotated | KeyExpired | KeyRevoked | KeyUpdated;
export type KeyEventType = KeyEvent['type'];

export interface SerializedKeyEvent {
  readonly type: KeyEventType;
  readonly schemaVersion: number;
  readonly payload: KeyEvent['payload'];
}

/**
 * Stored type name → event class. Explicit, so renaming a class never orphans stored events, and
 * `satisfies` makes the compiler reject a registry that misses or mismatches a member of KeyEvent.
 */
export const KEY_EVENT_TYPES = {
  [KeyCreated.type]: KeyCreated,
  [KeyRotated.type]: KeyRotated,
  [KeyExpired.type]: KeyExpired,
  [KeyRevoked.type]: KeyRevoked,
  [KeyUpdated.type]: KeyUpdated,
} as const satisfies { readonly [E in KeyEvent as E['type']]: { readonly schemaVersion: number; new (payload: E['payload']): E } };

export function serializeKeyEvent(event: KeyEvent): SerializedKeyEvent {
  return { type: event.type, schemaVersion: KEY_EVENT_TYPES[event.type].schemaVersion, payload: event.payload };
}

/**
 * A stored event this code cannot read: an unknown type, a schema version it does not know, or a
 * payload that is not an object (a bad deploy, a newer version's event, a hand-written row). It is
 * kept in its place and reported, never guessed at: a key whose stream holds one can still be
 * revoked and expired (taking access away is always safe), but not rotated or changed.
 */
export interface UnreadableKeyEvent {
  readonly type: 'unreadable';
  readonly storedType: string;
  readonly schemaVersion: number;
  /** Why it cannot be read, naming the stored type and version (never payload values). */
  readonly problem: string;
}

/** What a key stream's stored event is to this code. */
export type StoredKeyEvent = KeyEvent | UnreadableKeyEvent;

/** A future schemaVersion 2 gets an upcaster here, not a new class name. */
export function readKeyEvent(type: string, schemaVersion: number, payload: unknown): StoredKeyEvent {
  const unreadable = (problem: string): UnreadableKeyEvent => ({ type: 'unreadable', storedType: type, schemaVersion, problem });
  // hasOwn, so stored names such as `constructor` or `__proto__` cannot reach Object.prototype.
  if (!Object.hasOwn(KEY_EVENT_TYPES, type)) return unreadable(`unknown key event type ${JSON.stringify(type)}`);
  const Event = KEY_EVENT_TYPES[type as KeyEventType];
  if (schemaVersion !== Event.schemaVersion) {
    return unreadable(
      `unsupported schema version ${schemaVersion} of key event ${JSON.stringify(type)} (this version reads ${Event.schemaVersion})`,
    );
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return unreadable(`key event ${JSON.stringify(type)} has a payload that is not an object`);
  }
  // The stored payload was written by serializeKeyEvent for this type and version.
  return new Event(payload as never);
}
