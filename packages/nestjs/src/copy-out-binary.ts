import type { ClientBase } from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/*
 * Reading `COPY … TO STDOUT (FORMAT binary)`: a header, then per row a 16-bit field count and per
 * field a 32-bit length (-1 for NULL) and that many bytes, then a count of -1. Fields arrive
 * unescaped, so a text field is one decode straight into a string of its own (never a slice of a
 * larger string that would keep it alive), a bytea is its raw bytes and a float8 eight bytes.
 * The one COPY reader: the replica's start-up load, and in the registry event replays and audit
 * exports. Why binary, with the figures: docs/adr/0005-binary-copy-replica-load.md.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_LENGTH = SIGNATURE.length + 8; // + flags (int32) + header extension length (int32)

/**
 * The complete rows of one chunk, read field by field in the order the query selects them.
 * `next()` moves to the next row; each reader call takes the row's next field.
 */
export class BinaryRows {
  private buf: Buffer = Buffer.alloc(0);
  private end = 0;
  private pos = 0;
  private fieldsLeft = 0;

  constructor(private readonly fields: number) {}

  /** Points the cursor at the complete rows `buf[start, end)` (copyBinaryRows does this per chunk). */
  reset(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.fieldsLeft = 0;
  }

  /** Moves to the next row of this chunk; false when there is none. */
  next(): boolean {
    if (this.fieldsLeft !== 0) throw new Error(`COPY row read with ${this.fieldsLeft} of its fields left`);
    if (this.pos >= this.end) return false;
    const count = this.buf.readInt16BE(this.pos);
    if (count !== this.fields) throw new Error(`a COPY row has ${count} fields, expected ${this.fields}`);
    this.pos += 2;
    this.fieldsLeft = count;
    return true;
  }

  /**
   * Moves past the next field and returns where its bytes start, or -1 for NULL. `size`: the
   * only length a field of this type can have.
   */
  private take(type: string, size?: number): number {
    if (this.fieldsLeft-- <= 0) throw new Error('read past the last field of a COPY row');
    const length = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    if (length < 0) return -1;
    if (size !== undefined && length !== size) throw new Error(`${type} field of ${length} bytes in a COPY row`);
    const start = this.pos;
    this.pos += length;
    return start;
  }

  /** A text field, decoded as UTF-8 (the client encoding). */
  text(): string | null {
    const start = this.take('a text');
    return start < 0 ? null : this.buf.toString('utf8', start, this.pos);
  }

  /** A bytea (or an ASCII text) field as a latin1 string: one char per byte. */
  latin1(): string | null {
    const start = this.take('a bytea');
    return start < 0 ? null : this.buf.toString('latin1', start, this.pos);
  }

  /** A bytea field as lowercase hex, as `encode(…, 'hex')` writes it. */
  hex(): string | null {
    const start = this.take('a bytea');
    return start < 0 ? null : this.buf.toString('hex', start, this.pos);
  }

  /** A jsonb field as its JSON text (jsonb's own spacing, as the text format sends it). */
  jsonb(): string | null {
    const start = this.take('a jsonb');
    if (start < 0) return null;
    if (this.buf[start] !== JSONB_VERSION) throw new Error(`jsonb field of format version ${this.buf[start]} in a COPY row`);
    return this.buf.toString('utf8', start + 1, this.pos);
  }

  /** An int4 field. */
  int4(): number | null {
    const start = this.take('an int4', 4);
    return start < 0 ? null : this.buf.readInt32BE(start);
  }

  /** An int8 field, as a number: refused past 2^53, where a number would round it. */
  int8(): number | null {
    const start = this.take('an int8', 8);
    return start < 0 ? null : int64(this.buf, start, 'int8');
  }

  /**
   * A timestamptz field as epoch milliseconds, whole (microseconds truncated, as node-postgres and
   * to_char(…, 'MS') do). Refuses ±infinity and what lies past a Date's range (±273,790 years).
   */
  timestamp(): number | null {
    const start = this.take('a timestamptz', 8);
    if (start < 0) return null;
    const micros = this.buf.readInt32BE(start) * 2 ** 32 + this.buf.readUInt32BE(start + 4);
    // Within ±285 years of 2000 the number is exact; further out, divide exactly as a BigInt.
    const ms = Number.isSafeInteger(micros) ? Math.floor(micros / 1000) : Number(floorDiv(this.buf.readBigInt64BE(start), 1000n));
    const epochMs = POSTGRES_EPOCH_MS + ms;
    if (!(Math.abs(epochMs) <= MAX_DATE_MS)) throw new Error("timestamptz field out of a Date's range (or ±infinity) in a COPY row");
    return epochMs;
  }

  /** A float8 field. */
  float8(): number | null {
    const start = this.take('a float8', 8);
    return start < 0 ? null : this.buf.readDoubleBE(start);
  }
}

/** The first byte of a binary jsonb value: its format version, 1 since PostgreSQL 9.4. */
const JSONB_VERSION = 1;
/** 2000-01-01T00:00:00Z, from which binary timestamps count microseconds. */
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);

/** The largest epoch milliseconds a Date holds. */
const MAX_DATE_MS = 8.64e15;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

/** A big-endian int64 as a number, refused when a number cannot hold it exactly. */
function int64(buf: Buffer, start: number, type: string): number {
  const value = buf.readInt32BE(start) * 2 ** 32 + buf.readUInt32BE(start + 4);
  if (!Number.isSafeInteger(value)) throw new Error(`${type} field out of a number's exact range in a COPY row`);
  return value;
}

/** Where the complete rows of `buf` from `start` end, and whether the trailer was among them. */
function completeRows(buf: Buffer, start: number): { end: number; trailer: boolean } {
  let pos = start;
  for (;;) {
    if (pos + 2 > buf.length) return { end: pos, trailer: false };
    const count = buf.readInt16BE(pos);
    if (count === -1) return { end: pos, trailer: true };
    let next = pos + 2;
    for (let i = 0; i < count && next <= buf.length; i++) {
      if (next + 4 > buf.length) {
        next = buf.length + 1;
        break;
      }
      const length = buf.readInt32BE(next);
      next += 4 + Math.max(length, 0);
    }
    if (next > buf.length) return { end: pos, trailer: false };
    pos = next;
  }
}

/**
 * The rows in a binary COPY byte stream, a chunk at a time, through one reusable cursor of
 * `fields` fields per row. A row cut across chunks waits for the rest.
 */
export async function* copyBinaryRows(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, fields: number): AsyncGenerator<BinaryRows> {
  const rows = new BinaryRows(fields);
  let rest: Buffer | undefined;
  let header = true;
  let trailer = false;
  for await (const chunk of chunks) {
    if (trailer) throw new Error('COPY sent data after its trailer');
    const buf = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    if (header) {
      const seen = Math.min(buf.length, SIGNATURE.length);
      if (!buf.subarray(0, seen).equals(SIGNATURE.subarray(0, seen))) throw new Error('not a binary COPY stream (bad signature)');
      if (buf.length < HEADER_LENGTH) {
        rest = buf;
        continue;
      }
      start = HEADER_LENGTH + buf.readInt32BE(SIGNATURE.length + 4);
      if (start > buf.length) {
        rest = buf;
        continue;
      }
      header = false;
    }
    const complete = completeRows(buf, start);
    trailer = complete.trailer;
    const after = complete.trailer ? complete.end + 2 : complete.end;
    if (trailer && after < buf.length) throw new Error('COPY sent data after its trailer');
    rest = after < buf.length ? Buffer.from(buf.subarray(after)) : undefined;
    if (complete.end > start) {
      rows.reset(buf, start, complete.end);
      yield rows;
    }
  }
  if (!trailer) throw new Error('COPY ended inside a row');
}

/**
 * Runs `COPY (query) TO STDOUT (FORMAT binary)` on `client` and yields its rows a chunk at a time.
 * Stopping early leaves the connection inside the COPY: the caller must then destroy it, not reuse it.
 */
export function copyOutBinary(client: ClientBase, query: string, fields: number): AsyncGenerator<BinaryRows> {
  return copyBinaryRows(client.query(copyTo(`COPY (${query}) TO STDOUT (FORMAT binary)`)), fields);
}
