import type { AuditEntry } from '../queries/audit-filter.js';
import { ndjsonLine } from './audit-export.js';

const entry: AuditEntry = {
  seq: 12,
  position: 40,
  recordedAt: '2026-11-24T10:00:00.123Z',
  occurredAt: '2026-11-24T10:00:00.120Z',
  type: 'key.revoked',
  keyId: '0b9c8f0e-4c1e-4d5e-9a57-3f2d8c1b7a60',
  publicId: 'Ab3dEf9hJk2m',
  tenantId: 't-1',
  actor: { type: 'api-key', id: 'actor-1' },
  requestId: 'req-1',
  ip: '203.0.113.7',
  userAgent: 'curl/8.5',
  reason: 'leaked',
  changes: { scopes: { from: ['a'], to: ['a', 'b'] } },
  chainHash: 'ab'.repeat(32),
};

describe('ndjsonLine', () => {
  it('writes exactly JSON.stringify(entry) and a newline', () => {
    expect(ndjsonLine(entry)).toBe(`${JSON.stringify(entry)}\n`);
  });

  it('escapes and nulls as JSON.stringify does, in every string field', () => {
    const awkward = ['quote " and \\ backslash', 'line\nbreak\ttab', '\u0000\u001f\u007f', 'ünïcødé 😀', '', '=1+2'];
    for (const text of awkward) {
      const e: AuditEntry = {
        ...entry,
        type: text,
        keyId: null,
        publicId: text,
        tenantId: null,
        actor: { type: null, id: text },
        requestId: text,
        ip: null,
        userAgent: text,
        reason: null,
        changes: { name: { from: text, to: null } },
        recordedAt: text,
        chainHash: text,
      };
      expect(ndjsonLine(e)).toBe(`${JSON.stringify(e)}\n`);
    }
  });
});
