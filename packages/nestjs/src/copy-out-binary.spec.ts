import { copyBinaryRows, type BinaryRows } from './copy-out-binary.js';

type Field = { text: string } | { bytes: Buffer } | { float8: number } | { int4: number } | null;

/** PostgreSQL's binary COPY output (the header with an extension area, the rows, the trailer). */
function binaryCopy(rows: Field[][], extension = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')];
  const int32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const int16 = (n: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return b;
  };
  parts.push(int32(0), int32(extension.length), extension);
  for (const row of rows) {
    parts.push(int16(row.length));
    for (const field of row) {
      if (field === null) {
        parts.push(int32(-1));
        continue;
      }
      let bytes: Buffer;
      if ('text' in field) bytes = Buffer.from(field.text, 'utf8');
      else if ('bytes' in field) bytes = field.bytes;
      else if ('int4' in field) {
        bytes = Buffer.alloc(4);
        bytes.writeInt32BE(field.int4);
      } else {
        bytes = Buffer.alloc(8);
        bytes.writeDoubleBE(field.float8);
      }
      parts.push(int32(bytes.length), bytes);
    }
  }
  parts.push(int16(-1));
  return Buffer.concat(parts);
}

const DIGEST = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 200) & 0xff));
const ROWS: Field[][] = [
  [{ text: 'ünïcødé 😀 with\ttab\nand \\ backslash' }, { bytes: DIGEST }, { float8: 1796400269512.319 }, null],
  [{ text: '' }, null, { float8: -0.5 }, { text: 'kl' }],
  [{ text: 'x'.repeat(5000) }, { bytes: Buffer.alloc(0) }, null, { text: 'tail' }],
];

interface Read {
  text: string | null;
  latin1: string | null;
  float8: number | null;
  last: string | null;
}

async function readAll(chunks: Buffer[]): Promise<Read[]> {
  const out: Read[] = [];
  for await (const rows of copyBinaryRows(chunks, 4)) {
    while (rows.next()) out.push({ text: rows.text(), latin1: rows.latin1(), float8: rows.float8(), last: rows.text() });
  }
  return out;
}

const EXPECTED: Read[] = [
  { text: 'ünïcødé 😀 with\ttab\nand \\ backslash', latin1: DIGEST.toString('latin1'), float8: 1796400269512.319, last: null },
  { text: '', latin1: null, float8: -0.5, last: 'kl' },
  { text: 'x'.repeat(5000), latin1: '', float8: null, last: 'tail' },
];

describe('copyBinaryRows', () => {
  const stream = binaryCopy(ROWS, Buffer.from('ext'));

  it('reads every field as it was sent, header extension skipped', async () => {
    await expect(readAll([stream])).resolves.toEqual(EXPECTED);
  });

  it('reads the same whichever byte a chunk boundary falls on', async () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(await readAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(EXPECTED);
    }
  });

  it('reads a stream that arrives one byte at a time', async () => {
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    await expect(readAll(bytes)).resolves.toEqual(EXPECTED);
  });

  it('gives strings of their own, not views of the chunk', async () => {
    const chunk = Buffer.from(stream);
    const read = await readAll([chunk]);
    chunk.fill(0);
    expect(read).toEqual(EXPECTED);
  });

  it('refuses a stream that is not binary COPY, ends inside a row, or goes on after its trailer', async () => {
    await expect(readAll([Buffer.from('id\tname\n1\tone\n')])).rejects.toThrow(/bad signature/);
    await expect(readAll([stream.subarray(0, stream.length - 3)])).rejects.toThrow(/ended inside a row/);
    await expect(readAll([stream, Buffer.from([0])])).rejects.toThrow(/after its trailer/);
    await expect(readAll([Buffer.concat([stream, Buffer.from([0])])])).rejects.toThrow(/after its trailer/);
  });

  it('reads int4 fields, and refuses a field of another size', async () => {
    const read = async (fields: Field[]): Promise<(number | null)[]> => {
      const out: (number | null)[] = [];
      for await (const rows of copyBinaryRows([binaryCopy([fields])], fields.length)) {
        while (rows.next()) for (const _ of fields) out.push(rows.int4());
      }
      return out;
    };
    await expect(read([{ int4: 7 }, { int4: -2147483648 }, null])).resolves.toEqual([7, -2147483648, null]);
    await expect(read([{ float8: 7 }])).rejects.toThrow(/int4 field of 8 bytes/);
  });

  it('reads int8, timestamptz, jsonb and bytea-as-hex fields as PostgreSQL sends them', async () => {
    const int64 = (n: bigint): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(n);
      return b;
    };
    const micros = (iso: string, extra: bigint): bigint => BigInt(Date.parse(iso) - Date.UTC(2000, 0, 1)) * 1000n + extra;
    const fields: Field[] = [
      { bytes: int64(2n ** 53n - 1n) },
      { bytes: int64(-42n) },
      { bytes: int64(micros('2026-12-05T13:01:02.345Z', 999n)) },
      { bytes: int64(micros('1999-12-31T23:59:59.999Z', 1n)) },
      { bytes: int64(micros('+012000-01-01T00:00:00.007Z', 999n)) },
      { bytes: int64(micros('-000050-06-01T12:00:00.000Z', -1n)) },
      { bytes: Buffer.concat([Buffer.from([1]), Buffer.from('{"a": "ü"}')]) },
      { bytes: Buffer.from([0xde, 0xad, 0x00, 0x0f]) },
      null,
    ];
    const out: unknown[] = [];
    for await (const rows of copyBinaryRows([binaryCopy([fields])], fields.length)) {
      while (rows.next()) {
        out.push(
          rows.int8(),
          rows.int8(),
          ...[1, 2, 3, 4].map(() => new Date(rows.timestamp()!).toISOString()),
          rows.jsonb(),
          rows.hex(),
          rows.jsonb(),
        );
      }
    }
    expect(out).toEqual([
      2 ** 53 - 1,
      -42,
      '2026-12-05T13:01:02.345Z',
      '1999-12-31T23:59:59.999Z',
      '+012000-01-01T00:00:00.007Z',
      '-000050-06-01T11:59:59.999Z',
      '{"a": "ü"}',
      'dead000f',
      null,
    ]);
  });

  it('refuses an int8 a number cannot hold exactly, an infinite timestamp and an unknown jsonb version', async () => {
    const one = async (bytes: Buffer, read: (rows: BinaryRows) => unknown): Promise<void> => {
      for await (const rows of copyBinaryRows([binaryCopy([[{ bytes }]])], 1)) while (rows.next()) read(rows);
    };
    const int64 = (n: bigint): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(n);
      return b;
    };
    await expect(one(int64(2n ** 53n), (r) => r.int8())).rejects.toThrow(/out of a number's exact range/);
    await expect(one(int64(2n ** 63n - 1n), (r) => r.timestamp())).rejects.toThrow(/timestamptz field out of/);
    await expect(one(int64(-(2n ** 63n)), (r) => r.timestamp())).rejects.toThrow(/timestamptz field out of/);
    await expect(one(Buffer.from([2, 0x7b, 0x7d]), (r) => r.jsonb())).rejects.toThrow(/jsonb field of format version 2/);
    await expect(one(Buffer.alloc(4), (r) => r.int8())).rejects.toThrow(/int8 field of 4 bytes/);
  });

  it('refuses rows of another width, and a reader that skips or over-reads fields', async () => {
    await expect(readAll([binaryCopy([[{ text: 'a' }]])])).rejects.toThrow(/1 fields, expected 4/);
    const skip = async (): Promise<void> => {
      for await (const rows of copyBinaryRows([stream], 4)) while (rows.next()) rows.text();
    };
    await expect(skip()).rejects.toThrow(/3 of its fields left/);
    const overRead = async (): Promise<void> => {
      for await (const rows of copyBinaryRows([stream], 4)) while (rows.next()) for (let i = 0; i < 5; i++) rows.latin1();
    };
    await expect(overRead()).rejects.toThrow(/past the last field/);
    const float = async (): Promise<void> => {
      for await (const rows of copyBinaryRows([stream], 4)) while (rows.next()) rows.float8();
    };
    await expect(float()).rejects.toThrow(/float8 field of \d+ bytes/);
  });
});
