import { copyRows } from '../../database/index.js';
import type { AuditEntry } from '../queries/audit-filter.js';
import { CSV_HEADER, csvLine, exportText, ndjsonLine } from './export-format.js';

/** PostgreSQL's COPY text output for one value (CopyAttributeOutText): the model the parser must undo. */
function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  const escapes: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  return String(value).replace(/[\\\b\f\n\r\t\v]/g, (c) => escapes[c]);
}

const entry: AuditEntry = {
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

/** The row COPY sends for an entry, in EXPORT_COLUMNS order, times as PostgreSQL writes them in UTC. */
function copyRow(e: AuditEntry, changesText = JSON.stringify(e.changes)): string {
  const pgTime = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 23)}+00`;
  return [
    e.seq, e.position, pgTime(e.recordedAt), pgTime(e.occurredAt), e.keyId, e.chainHash,
    e.type, e.publicId, e.tenantId, e.actor.type, e.actor.id, e.actor.publicId, e.actor.name, e.requestId, e.ip, e.userAgent, e.reason, e.reasonCode, changesText,
  ].map(copyField).join('\t');
}

const AWKWARD = [
  'quote " and \\ backslash', 'line\nbreak\ttab\r\v\f\b', '\u0001\u001f\u007f', 'ünïcødé 😀 \u2028', '', '=1+2', '\\N', 'N\\', '\\\\N', 'ends with \\',
];

function awkward(text: string): AuditEntry {
  return {
    ...entry,
    type: text,
    keyId: null,
    publicId: text,
    tenantId: null,
    actor: { type: null, id: text, publicId: null, name: text },
    requestId: text,
    ip: null,
    userAgent: text,
    reason: text,
    reasonCode: null,
    changes: { name: { from: text, to: null } },
  };
}

describe('ndjsonLine', () => {
  it('writes exactly JSON.stringify(entry) and a newline for a plain row', () => {
    expect(ndjsonLine(copyRow(entry))).toBe(`${JSON.stringify(entry)}\n`);
  });

  it.each(AWKWARD)('escapes and nulls as JSON.stringify does, in every text field (%j)', (text) => {
    const e = awkward(text);
    expect(ndjsonLine(copyRow(e))).toBe(`${JSON.stringify(e)}\n`);
  });

  it("keeps jsonb's own spacing in changes, which still parses to the same document", () => {
    const line = ndjsonLine(copyRow(entry, '{"scopes": {"to": ["a", "b"], "from": ["a"]}}'));
    expect(JSON.parse(line)).toEqual(entry);
  });

  it('refuses a row with the wrong number of fields rather than shift every column', () => {
    expect(() => ndjsonLine(`${copyRow(entry)}\textra`)).toThrow(/20 fields, expected 19/);
  });
});

describe('csvLine', () => {
  it('quotes per RFC 4180, disarms formulas and leaves NULL empty', () => {
    const e = { ...awkward('say "hi", then\nleave'), reason: '=HYPERLINK("x")', publicId: '-1', tenantId: null };
    const line = csvLine(copyRow(e));
    expect(line).toBe(
      [
        '12', '40', entry.recordedAt, entry.occurredAt, '"say ""hi"", then\nleave"', '', "'-1", '', '', '"say ""hi"", then\nleave"',
        '', '"say ""hi"", then\nleave"', '"say ""hi"", then\nleave"', '', '"say ""hi"", then\nleave"', `"'=HYPERLINK(""x"")"`, '',
        '"{""name"":{""from"":""say \\""hi\\"", then\\nleave"",""to"":null}}"', entry.chainHash,
      ].join(',') + '\r\n',
    );
    expect(CSV_HEADER.split(',')).toHaveLength(19);
  });
});

describe('exportText', () => {
  async function collect(format: 'ndjson' | 'csv', bytes: Buffer[]): Promise<string> {
    let out = '';
    for await (const text of exportText(format, copyRows(bytes))) out += text;
    return out;
  }

  const entries = [entry, awkward('ünïcødé 😀 "q"'), { ...entry, seq: 13, position: 41, reason: 'tab\there' }];
  const bytes = Buffer.from(entries.map((e) => `${copyRow(e)}\n`).join(''));

  it('writes one line per row, in order', async () => {
    expect(await collect('ndjson', [bytes.subarray(0, 100), bytes.subarray(100)])).toBe(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
  });

  it('starts a CSV with its header, and an empty export is the header alone', async () => {
    expect(await collect('csv', [])).toBe(CSV_HEADER);
    expect((await collect('csv', [bytes])).startsWith(CSV_HEADER)).toBe(true);
    expect(await collect('ndjson', [])).toBe('');
  });
});
