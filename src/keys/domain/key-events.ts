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
 * Throws a plain Error for a type or version this code does not know: a poison event must halt the
 * projection, never be skipped. A future schemaVersion 2 gets an upcaster here, not a new class name.
 */
export function deserializeKeyEvent(type: string, schemaVersion: number, payload: unknown): KeyEvent {
  // hasOwn, so stored names such as `constructor` or `__proto__` cannot reach Object.prototype.
  if (!Object.hasOwn(KEY_EVENT_TYPES, type)) throw new Error(`Unknown key event type ${JSON.stringify(type)}`);
  const Event = KEY_EVENT_TYPES[type as KeyEventType];
  if (schemaVersion !== Event.schemaVersion) {
    throw new Error(`Unsupported schema version ${schemaVersion} for key event ${JSON.stringify(type)} (expected ${Event.schemaVersion})`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new Error(`Key event ${JSON.stringify(type)} has a payload that is not an object`);
  }
  // The stored payload was written by serializeKeyEvent for this type and version.
  return new Event(payload as never);
}
