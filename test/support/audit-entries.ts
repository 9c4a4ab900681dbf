import type { AuditEntry } from '../../src/audit/index.js';

/**
 * Audit entries for the export's tests: the line writer's unit spec (binary COPY rows it builds
 * itself) and the export e2e test (the same entries stored in PostgreSQL and read back).
 */

/** An entry with every field set, a comma and quotes in the actor's name. */
export const SAMPLE_ENTRY: AuditEntry = {
  seq: 12,
  position: 40,
  recordedAt: '2026-11-24T10:00:00.123Z',
  occurredAt: '2026-11-24T10:00:00.120Z',
  type: 'key.revoked',
  keyId: '0b9c8f0e-4c1e-4d5e-9a57-3f2d8c1b7a60',
  publicId: 'Ab3dEf9hJk2m',
  tenantId: 't-1',
  actor: { type: 'api-key', id: 'actor-1', publicId: 'Zz9yXw8vUt7s', name: 'ops, "night" key' },
  requestId: 'req-1',
  ip: '203.0.113.7',
  userAgent: 'curl/8.5',
  reason: null,
  reasonCode: 'leaked',
  changes: { scopes: { from: ['a'], to: ['a', 'b'] } },
  chainHash: 'ab'.repeat(32),
};

/** Text that JSON, CSV or COPY's text format would each mangle if they escaped it wrong. */
export const AWKWARD_TEXTS = [
  'quote " and \\ backslash',
  'line\nbreak\ttab\r\v\f\b',
  '\u0001\u001f\u007f',
  'ünïcødé 😀 \u2028',
  '',
  '=1+2',
  '\\N',
  'N\\',
  '\\\\N',
  'ends with \\',
];

/**
 * `base` with `text` in every text field and in `changes`; the nullable fields are null or not
 * depending on whether `i` is even, so a list of them covers both.
 */
export function awkwardEntry(base: AuditEntry, text: string, i = 0): AuditEntry {
  const odd = i % 2 === 1;
  return {
    ...base,
    type: text,
    keyId: odd ? SAMPLE_ENTRY.keyId : null,
    publicId: text,
    tenantId: odd ? null : text,
    actor: { type: odd ? text : null, id: text, publicId: null, name: text },
    requestId: text,
    ip: null,
    userAgent: text,
    reason: text,
    reasonCode: odd ? text : null,
    changes: { name: { from: text, to: null } },
  };
}

/** The entry's text columns, in EXPORT_COLUMNS order: event_type to reason_code (between the times and changes). */
export function textColumns(e: AuditEntry): (string | null)[] {
  return [
    e.type,
    e.keyId,
    e.publicId,
    e.tenantId,
    e.actor.type,
    e.actor.id,
    e.actor.publicId,
    e.actor.name,
    e.requestId,
    e.ip,
    e.userAgent,
    e.reason,
    e.reasonCode,
  ];
}
