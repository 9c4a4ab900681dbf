import { csvCell } from '../../common/index.js';
import { copyText, copyTimestamp, copyValue } from '../../database/index.js';
import { quoteJson } from '../audit-chain.js';

/**
 * `ndjson`, `csv`: audit entries, newest first. `events-ndjson`: every event the chain covers, in
 * chain order, one canonical event text (exactly what is hashed) per line, for checking the file
 * alone against a digest (docs/audit-verifier.mjs).
 */
export const EXPORT_FORMATS = ['ndjson', 'csv', 'events-ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * The audit row as COPY sends it (text format, see database/copy-out.ts; the session runs in UTC
 * with DateStyle ISO). The fields PostgreSQL formats come first, then the free text that may need
 * escaping, then `changes`, the one field that always holds quotes (jsonb's own text: JSON once
 * COPY's escapes are undone).
 */
export const EXPORT_COLUMNS = `seq, position, recorded_at, occurred_at, key_id, encode(chain_hash, 'hex'),
  event_type, public_id, tenant_id, actor_type, actor_id, actor_public_id, actor_name, request_id, ip, user_agent, reason, reason_code, changes`;

const enum F {
  Seq, Position, RecordedAt, OccurredAt, KeyId, ChainHash,
  Type, PublicId, TenantId, ActorType, ActorId, ActorPublicId, ActorName, RequestId, Ip, UserAgent, Reason, ReasonCode, Changes,
}
const FIELDS = F.Changes + 1;

export const CSV_HEADER =
  'seq,position,recordedAt,occurredAt,type,keyId,publicId,tenantId,actorType,actorId,actorPublicId,actorName,requestId,ip,userAgent,reason,reasonCode,changes,chainHash\r\n';

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /["\x00-\x08\x0a-\x1f]/;

/**
 * Whether the free-text fields of a row (Type to ReasonCode) become JSON strings by adding quotes: no
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
  return plain ? `"${field}"` : quoteJson(copyText(field));
}

function fields(row: string): string[] {
  const f = row.split('\t');
  if (f.length !== FIELDS) throw new Error(`an audit export row has ${f.length} fields, expected ${FIELDS}`);
  return f;
}

/**
 * One NDJSON line, in the entry shape the query API returns (AuditEntry), from one COPY row.
 * Most rows need no escaping at all: one test of the row decides, then every field is quoted as is.
 */
export function ndjsonLine(row: string): string {
  const f = fields(row);
  const plain = plainText(row, f);
  return (
    `{"seq":${f[F.Seq]},"position":${f[F.Position]},"recordedAt":"${copyTimestamp(f[F.RecordedAt])}","occurredAt":"${copyTimestamp(f[F.OccurredAt])}",` +
    `"type":${jsonString(f[F.Type], plain)},"keyId":${f[F.KeyId] === '\\N' ? 'null' : `"${f[F.KeyId]}"`},` +
    `"publicId":${jsonString(f[F.PublicId], plain)},"tenantId":${jsonString(f[F.TenantId], plain)},` +
    `"actor":{"type":${jsonString(f[F.ActorType], plain)},"id":${jsonString(f[F.ActorId], plain)},` +
    `"publicId":${jsonString(f[F.ActorPublicId], plain)},"name":${jsonString(f[F.ActorName], plain)}},` +
    `"requestId":${jsonString(f[F.RequestId], plain)},"ip":${jsonString(f[F.Ip], plain)},"userAgent":${jsonString(f[F.UserAgent], plain)},` +
    `"reason":${jsonString(f[F.Reason], plain)},"reasonCode":${jsonString(f[F.ReasonCode], plain)},"changes":${copyText(f[F.Changes])},"chainHash":"${f[F.ChainHash]}"}\n`
  );
}

/** One CSV record, columns as in CSV_HEADER, from one COPY row. */
export function csvLine(row: string): string {
  const f = fields(row);
  const v = (i: F): string | null => copyValue(f[i]);
  const cells = [
    f[F.Seq], f[F.Position], copyTimestamp(f[F.RecordedAt]), copyTimestamp(f[F.OccurredAt]), v(F.Type), v(F.KeyId), v(F.PublicId), v(F.TenantId),
    v(F.ActorType), v(F.ActorId), v(F.ActorPublicId), v(F.ActorName), v(F.RequestId), v(F.Ip), v(F.UserAgent), v(F.Reason), v(F.ReasonCode), v(F.Changes), f[F.ChainHash],
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** The export's text: one string per chunk of COPY rows, so a stream step carries many rows. */
export async function* exportText(format: 'ndjson' | 'csv', rows: AsyncIterable<string[]>): AsyncGenerator<string> {
  const line = format === 'csv' ? csvLine : ndjsonLine;
  if (format === 'csv') yield CSV_HEADER;
  for await (const chunk of rows) {
    let out = '';
    for (const row of chunk) out += line(row);
    yield out;
  }
}
