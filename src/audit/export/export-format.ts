import { quoteJson } from '../audit-chain.js';

export type ExportFormat = 'ndjson' | 'csv';

/**
 * What `COPY (SELECT EXPORT_COLUMNS …) TO STDOUT` sends for each audit row, in PostgreSQL's text
 * format: fields separated by a tab, `\N` for NULL, and a backslash before a backslash, a tab, a
 * line break and \b \f \v. The session runs with TimeZone UTC and DateStyle ISO, so a time reads
 * `2026-12-01 08:03:18.352+00`. The fields PostgreSQL formats come first, then the free text that
 * may need escaping, then `changes`, the one field that always holds quotes.
 */
export const EXPORT_COLUMNS = `seq, position, recorded_at, occurred_at, key_id, encode(chain_hash, 'hex'),
  event_type, public_id, tenant_id, actor_type, actor_id, request_id, ip, user_agent, reason, changes`;

const enum F {
  Seq, Position, RecordedAt, OccurredAt, KeyId, ChainHash,
  Type, PublicId, TenantId, ActorType, ActorId, RequestId, Ip, UserAgent, Reason, Changes,
}
const FIELDS = F.Changes + 1;

export const CSV_HEADER =
  'seq,position,recordedAt,occurredAt,type,keyId,publicId,tenantId,actorType,actorId,requestId,ip,userAgent,reason,changes,chainHash\r\n';

const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A COPY text field's value: NULL, or the text with its backslash escapes undone. */
export function copyValue(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/gs, (_, c: string) => COPY_ESCAPES[c] ?? c);
}

/**
 * A timestamptz as COPY writes it in UTC (`2026-12-01 08:03:18.352+00`, the fraction 0–6 digits,
 * trailing zeros dropped) to the API's form, Date#toISOString's (`2026-12-01T08:03:18.352Z`):
 * milliseconds, truncated as PostgreSQL's to_char(…, 'MS') does.
 */
export function isoTime(field: string): string {
  const zone = field.length - 3;
  if (field[10] === ' ' && field.endsWith('+00') && (zone === 19 || field[19] === '.')) {
    const fraction = zone === 19 ? '.000' : `${field.slice(19, Math.min(zone, 23))}000`.slice(0, 4);
    return `${field.slice(0, 10)}T${field.slice(11, 19)}${fraction}Z`;
  }
  // Any other shape (a year past 9999, say): let Date read it rather than guess.
  const ms = Date.parse(field.replace(' ', 'T').replace(/\+00$/, 'Z'));
  if (Number.isNaN(ms)) throw new Error(`unexpected timestamp "${field}" in the audit export`);
  return new Date(ms).toISOString();
}

/** Characters a JSON string must escape; COPY escapes the rest of the control characters with a backslash. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /["\x00-\x08\x0a-\x1f]/;

/**
 * Whether the free-text fields of a row (Type to Reason) become JSON strings by adding quotes: no
 * quote, no control character and no COPY escape, i.e. no backslash but that of `\N` (NULL): a
 * backslash in the text itself is doubled, so it is never followed by the N of a NULL.
 */
function plainText(row: string, f: string[]): boolean {
  const first: number = F.Type;
  let start = first; // the tabs before it
  for (let i = 0; i < first; i++) start += f[i].length;
  const text = row.slice(start, row.length - f[F.Changes].length - 1);
  if (UNSAFE.test(text)) return false;
  for (let i = text.indexOf('\\'); i !== -1; i = text.indexOf('\\', i + 2)) if (text.charCodeAt(i + 1) !== 78 /* N */) return false;
  return true;
}

function jsonString(field: string, plain: boolean): string {
  if (field === '\\N') return 'null';
  return plain ? `"${field}"` : quoteJson(copyValue(field) as string);
}

function fields(row: string): string[] {
  const f = row.split('\t');
  if (f.length !== FIELDS) throw new Error(`an audit export row has ${f.length} fields, expected ${FIELDS}`);
  return f;
}

/** `changes` is jsonb's own text: valid JSON already, once COPY's doubled backslashes are undone. */
function changesJson(field: string): string {
  return field.includes('\\') ? field.replace(/\\\\/g, '\\') : field;
}

/**
 * One NDJSON line, in the entry shape the query API returns (AuditEntry), from one COPY row.
 * Most rows need no escaping at all: one test of the row decides, then every field is quoted as is.
 */
export function ndjsonLine(row: string): string {
  const f = fields(row);
  const plain = plainText(row, f);
  return (
    `{"seq":${f[F.Seq]},"position":${f[F.Position]},"recordedAt":"${isoTime(f[F.RecordedAt])}","occurredAt":"${isoTime(f[F.OccurredAt])}",` +
    `"type":${jsonString(f[F.Type], plain)},"keyId":${f[F.KeyId] === '\\N' ? 'null' : `"${f[F.KeyId]}"`},` +
    `"publicId":${jsonString(f[F.PublicId], plain)},"tenantId":${jsonString(f[F.TenantId], plain)},` +
    `"actor":{"type":${jsonString(f[F.ActorType], plain)},"id":${jsonString(f[F.ActorId], plain)}},` +
    `"requestId":${jsonString(f[F.RequestId], plain)},"ip":${jsonString(f[F.Ip], plain)},"userAgent":${jsonString(f[F.UserAgent], plain)},` +
    `"reason":${jsonString(f[F.Reason], plain)},"changes":${changesJson(f[F.Changes])},"chainHash":"${f[F.ChainHash]}"}\n`
  );
}

/** RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so spreadsheets never run it as a formula. */
export function csvCell(value: string | null): string {
  if (value === null) return '';
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, columns as in CSV_HEADER, from one COPY row. */
export function csvLine(row: string): string {
  const f = fields(row);
  const v = (i: F): string | null => copyValue(f[i]);
  const cells = [
    f[F.Seq], f[F.Position], isoTime(f[F.RecordedAt]), isoTime(f[F.OccurredAt]), v(F.Type), v(F.KeyId), v(F.PublicId), v(F.TenantId),
    v(F.ActorType), v(F.ActorId), v(F.RequestId), v(F.Ip), v(F.UserAgent), v(F.Reason), v(F.Changes), f[F.ChainHash],
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * The export's text from COPY's byte stream: one string per chunk that ends a row, so a stream
 * step carries many rows. A row may be split across chunks; it is cut at its line break, a byte
 * no multi-byte UTF-8 character contains, so characters are never split.
 */
export async function* exportText(format: ExportFormat, copy: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<string> {
  const line = format === 'csv' ? csvLine : ndjsonLine;
  if (format === 'csv') yield CSV_HEADER;
  let rest: Buffer | undefined;
  for await (const chunk of copy) {
    const data = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
    const end = data.lastIndexOf(10);
    if (end === -1) {
      rest = data;
      continue;
    }
    rest = end + 1 < data.length ? Buffer.from(data.subarray(end + 1)) : undefined;
    const rows = data.toString('utf8', 0, end).split('\n');
    let out = '';
    for (const row of rows) out += line(row);
    yield out;
  }
  if (rest !== undefined) throw new Error('the audit export ended inside a row');
}
