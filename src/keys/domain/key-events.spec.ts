import { KeyCreated } from './events/key-created.event.js';
import { KeyExpired } from './events/key-expired.event.js';
import { KeyRevoked } from './events/key-revoked.event.js';
import { KeyRotated } from './events/key-rotated.event.js';
import { KeyUpdated } from './events/key-updated.event.js';
import { KEY_EVENT_TYPES, KeyEvent, readKeyEvent, serializeKeyEvent } from './key-events.js';

const AT = '2030-01-01T00:00:00.000Z';

const samples: KeyEvent[] = [
  new KeyCreated({
    keyId: '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b',
    publicId: 'AbCdEf012345',
    prefix: 'kl_live',
    tenantId: 'acme',
    name: 'billing',
    scopes: ['invoices:read'],
    tags: { team: 'billing' },
    expiresAt: null,
    secretHash: 'ab'.repeat(32),
    occurredAt: AT,
  }),
  new KeyRotated({ secretHash: 'cd'.repeat(32), previousSecretHash: 'ab'.repeat(32), graceEndsAt: AT, expiresAt: null, occurredAt: AT }),
  new KeyExpired({ reason: 'ttl', occurredAt: AT }),
  new KeyRevoked({ reason: 'leaked in a log', occurredAt: AT }),
  new KeyUpdated({ changes: { name: { from: 'a', to: 'b' }, expiresAt: { from: null, to: AT } }, occurredAt: AT }),
];

describe('key events', () => {
  it('store under stable dotted names at schema version 1, never the class name', () => {
    expect(Object.keys(KEY_EVENT_TYPES).sort()).toEqual(['key.created', 'key.expired', 'key.revoked', 'key.rotated', 'key.updated']);
    for (const [type, Event] of Object.entries(KEY_EVENT_TYPES)) {
      expect(Event.type).toBe(type);
      expect(Event.schemaVersion).toBe(1);
    }
  });

  it('mirror the static type on every instance', () => {
    expect(samples.map((e) => e.type)).toEqual(['key.created', 'key.rotated', 'key.expired', 'key.revoked', 'key.updated']);
  });

  it.each(samples.map((e) => [e.type, e] as const))('round-trips %s through JSON', (_type, event) => {
    const stored = JSON.parse(JSON.stringify(serializeKeyEvent(event))) as { type: string; schemaVersion: number; payload: unknown };

    expect(stored).toEqual({ type: event.type, schemaVersion: 1, payload: event.payload });
    expect(readKeyEvent(stored.type, stored.schemaVersion, stored.payload)).toStrictEqual(event);
  });

  it.each(['key.deleted', 'KeyCreated', '', 'constructor', '__proto__', 'toString'])(
    'reads the unknown type %j as unreadable, naming it',
    (type) => {
      expect(readKeyEvent(type, 1, {})).toEqual({
        type: 'unreadable',
        storedType: type,
        schemaVersion: 1,
        problem: `unknown key event type ${JSON.stringify(type)}`,
      });
    },
  );

  it('reads a schema version it does not know as unreadable', () => {
    expect(readKeyEvent('key.created', 2, samples[0].payload)).toMatchObject({
      type: 'unreadable',
      storedType: 'key.created',
      schemaVersion: 2,
    });
    expect(readKeyEvent('key.created', 2, samples[0].payload)).toHaveProperty(
      'problem',
      expect.stringMatching(/unsupported schema version 2/),
    );
    expect(readKeyEvent('key.created', 0, samples[0].payload)).toMatchObject({ type: 'unreadable', schemaVersion: 0 });
  });

  it('reads a payload that is not an object as unreadable', () => {
    for (const payload of [null, 'x', 1, []]) {
      expect(readKeyEvent('key.revoked', 1, payload)).toMatchObject({
        type: 'unreadable',
        problem: expect.stringMatching(/not an object/),
      });
    }
  });
});
