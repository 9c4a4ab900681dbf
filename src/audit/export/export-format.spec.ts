import { copyBinaryRows } from '@keyledger/nestjs/internal';
import type { AuditEntry } from '../queries/audit-filter.js';
import { awkwardEntry, AWKWARD_TEXTS, SAMPLE_ENTRY, textColumns } from '../../../test/support/audit-entries.js';
import { CSV_HEADER, EXPORT_FIELDS, exportText } from './export-format.js';

/** PostgreSQL's binary COPY field: length, then bytes; -1 for NULL. */
function field(bytes: Buffer | null): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(bytes === null ? -1 : bytes.length);
  return bytes === null ? length : Buffer.concat([length, bytes]);
}
const text = (value: string | null): Buffer => field(value === null ? null : Buffer.from(value, 'utf8'));
const int8 = (value: number | bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(value));
  return field(b);
};
/** timestamptz: microseconds since 2000-01-01 UTC. */
const timestamp = (iso: string, extraMicros = 0): Buffer =>
  int8(BigInt(Date.parse(iso) - Date.UTC(2000, 0, 1)) * 1000n + BigInt(extraMicros));
/** jsonb: a version byte (1), then the text. */
const jsonb = (json: string): Buffer => field(Buffer.concat([Buffer.from([1]), Buffer.from(json, 'utf8')]));

const entry = SAMPLE_ENTRY;

/** The row binary COPY sends for an entry, in EXPORT_COLUMNS order (`extraMicros`: below the millisecond). */
function copyRow(e: AuditEntry, changesText = JSON.stringify(e.changes), extraMicros = 0): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(19);
  return Buffer.concat([
    count,
    int8(e.seq),
    int8(e.position),
    timestamp(e.recordedAt, extraMicros),
    timestamp(e.occurredAt, extraMicros),
    ...textColumns(e).map(text),
    jsonb(changesText),
    field(Buffer.from(e.chainHash, 'hex')),
  ]);
}

/** A whole binary COPY stream of these rows: header, rows, trailer. */
function copyStream(rows: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8), ...rows, Buffer.from([0xff, 0xff])]);
}

async function collect(format: 'ndjson' | 'csv', chunks: Buffer[]): Promise<string> {
  let out = '';
  for await (const piece of exportText(format, copyBinaryRows(chunks, EXPORT_FIELDS))) out += piece;
  return out;
}

const line = (format: 'ndjson' | 'csv', row: Buffer): Promise<string> =>
  collect(format, [copyStream([row])]).then((out) => (format === 'csv' ? out.slice(CSV_HEADER.length) : out));

const awkward = (text: string): AuditEntry => awkwardEntry(entry, text);

describe('ndjsonLine', () => {
  it('writes exactly JSON.stringify(entry) and a newline for a plain row', async () => {
    expect(await line('ndjson', copyRow(entry))).toBe(`${JSON.stringify(entry)}\n`);
  });

  it.each(AWKWARD_TEXTS)('escapes and nulls as JSON.stringify does, in every text field (%j)', async (text) => {
    const e = awkward(text);
    expect(await line('ndjson', copyRow(e))).toBe(`${JSON.stringify(e)}\n`);
  });

  it("keeps jsonb's own spacing in changes, which still parses to the same document", async () => {
    const out = await line('ndjson', copyRow(entry, '{"scopes": {"to": ["a", "b"], "from": ["a"]}}'));
    expect(JSON.parse(out)).toEqual(entry);
  });

  it("truncates times to the millisecond, as Date and to_char(…, 'MS') do", async () => {
    expect(await line('ndjson', copyRow(entry, undefined, 999))).toBe(`${JSON.stringify(entry)}\n`);
  });

  it('writes every time as Date#toISOString does, whatever the second, year or sign', async () => {
    const times = [
      0,
      1,
      999,
      1000,
      -1,
      -999,
      -1001,
      Date.UTC(2026, 11, 5, 23, 59, 59, 999),
      Date.UTC(2026, 11, 6),
      Date.UTC(12000, 0, 1, 0, 0, 0, 7),
      Date.UTC(-50, 5, 1, 12),
    ];
    for (let i = 0; i < 200; i++) times.push(Math.round((i * 7919 * 1_000_003) % 4e12) - 1e12);
    const entries = times
      .flatMap((ms) => [ms, ms + 1, ms + 1000])
      .map((ms, i) => ({ ...entry, seq: i, recordedAt: new Date(ms).toISOString(), occurredAt: new Date(ms - 5).toISOString() }));
    expect(await collect('ndjson', [copyStream(entries.map((e) => copyRow(e)))])).toBe(
      entries.map((e) => `${JSON.stringify(e)}\n`).join(''),
    );
  });

  it('refuses a row with the wrong number of fields rather than shift every column', async () => {
    const row = copyRow(entry);
    row.writeInt16BE(20);
    await expect(line('ndjson', Buffer.concat([row, text('extra')]))).rejects.toThrow(/20 fields, expected 19/);
  });
});

describe('csvLine', () => {
  it('quotes per RFC 4180, disarms formulas and leaves NULL empty', async () => {
    const e = { ...awkward('say "hi", then\nleave'), reason: '=HYPERLINK("x")', publicId: '-1', tenantId: null };
    expect(await line('csv', copyRow(e))).toBe(
      [
        '12',
        '40',
        entry.recordedAt,
        entry.occurredAt,
        '"say ""hi"", then\nleave"',
        '',
        "'-1",
        '',
        '',
        '"say ""hi"", then\nleave"',
        '',
        '"say ""hi"", then\nleave"',
        '"say ""hi"", then\nleave"',
        '',
        '"say ""hi"", then\nleave"',
        `"'=HYPERLINK(""x"")"`,
        '', // reasonCode
        '"{""name"":{""from"":""say \\""hi\\"", then\\nleave"",""to"":null}}"',
        entry.chainHash,
      ].join(',') + '\r\n',
    );
    expect(CSV_HEADER.split(',')).toHaveLength(EXPORT_FIELDS);
  });
});

describe('exportText', () => {
  const entries = [entry, awkward('ünïcødé 😀 "q"'), { ...entry, seq: 13, position: 41, reason: 'tab\there' }];
  const bytes = copyStream(entries.map((e) => copyRow(e)));

  it('writes one line per row, in order, across chunks that cut rows', async () => {
    expect(await collect('ndjson', [bytes.subarray(0, 100), bytes.subarray(100)])).toBe(
      entries.map((e) => `${JSON.stringify(e)}\n`).join(''),
    );
  });

  it('starts a CSV with its header, and an empty export is the header alone', async () => {
    const empty = copyStream([]);
    expect(await collect('csv', [empty])).toBe(CSV_HEADER);
    expect((await collect('csv', [bytes])).startsWith(CSV_HEADER)).toBe(true);
    expect(await collect('ndjson', [empty])).toBe('');
  });
});
