import { copyRows, copyTimestamp, copyValue } from './copy-out.js';

/** PostgreSQL's COPY text output for one value (CopyAttributeOutText): the model the reader must undo. */
function copyField(value: string | null): string {
  if (value === null) return '\\N';
  const escapes: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  return value.replace(/[\\\b\f\n\r\t\v]/g, (c) => escapes[c]);
}

const AWKWARD = ['quote " and \\ backslash', 'line\nbreak\ttab\r\v\f\b', '\u0001\u001f\u007f', 'ünïcødé 😀 \u2028', '', '\\N', 'N\\', '\\\\N', 'ends with \\'];

describe('copyValue', () => {
  it.each(AWKWARD)('undoes what COPY did to %j', (text) => {
    expect(copyValue(copyField(text))).toBe(text);
  });

  it('reads \\N as NULL', () => {
    expect(copyValue('\\N')).toBeNull();
  });
});

describe('copyTimestamp', () => {
  it.each([
    ['2026-12-01 08:03:18+00', '2026-12-01T08:03:18.000Z'],
    ['2026-12-01 08:03:18.3+00', '2026-12-01T08:03:18.300Z'],
    ['2026-12-01 08:03:18.35+00', '2026-12-01T08:03:18.350Z'],
    ['2026-12-01 08:03:18.352+00', '2026-12-01T08:03:18.352Z'],
    ['2026-12-01 08:03:18.352999+00', '2026-12-01T08:03:18.352Z'],
    ['2026-12-01 10:03:18.352+02', '2026-12-01T08:03:18.352Z'],
    ['2026-12-01 13:33:18.352+05:30', '2026-12-01T08:03:18.352Z'],
  ])('reads %s as %s, milliseconds truncated', (pg, iso) => {
    expect(copyTimestamp(pg)).toBe(iso);
  });

  it('refuses a shape it does not know instead of writing a wrong time', () => {
    expect(() => copyTimestamp('Tue Dec 01 08:03:18 2026 UTC')).toThrow(/unexpected timestamp/);
  });
});

describe('copyRows', () => {
  async function collect(chunks: Buffer[]): Promise<string[]> {
    const rows: string[] = [];
    for await (const chunk of copyRows(chunks)) rows.push(...chunk);
    return rows;
  }

  const rows = ['1\tplain', `2\t${copyField('ünïcødé 😀 "q"\nnext')}`, `3\t${copyField('tab\there')}`];
  const bytes = Buffer.from(rows.map((r) => `${r}\n`).join(''));

  it('gives the same rows however COPY cuts its chunks, even inside a character', async () => {
    expect(await collect([bytes])).toEqual(rows);
    for (let cut = 1; cut < bytes.length; cut++) expect(await collect([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(rows);
    const bytewise = [...bytes].map((b) => Buffer.from([b]));
    expect(await collect(bytewise)).toEqual(rows);
  });

  it('yields nothing for an empty COPY', async () => {
    expect(await collect([])).toEqual([]);
  });

  it('fails rather than drop a row COPY cut short', async () => {
    await expect(collect([bytes.subarray(0, bytes.length - 3)])).rejects.toThrow(/ended inside a row/);
  });
});
