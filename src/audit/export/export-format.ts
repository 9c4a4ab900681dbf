import type { BinaryRows } from '@keyledger/nestjs/internal';
import { csvCell } from '../../common/index.js';
import { quoteJson } from '../audit-chain.js';

/**
 * `ndjson`, `csv`: audit entries, newest first. `events-ndjson`: every event the chain covers, in
 * chain order, one canonical event text (exactly what is hashed) per line, for checking the file
 * alone against a digest (docs/audit-verifier.mjs).
 */
export const EXPORT_FORMATS = ['ndjson', 'csv', 'events-ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * The audit row as binary COPY sends it (packages/nestjs copy-out-binary.ts), in the order of the
 * entry's members (AuditEntry, CSV_HEADER): both writers read each field once, in turn.
 */
export const EXPORT_COLUMNS = `seq, position, recorded_at, occurred_at, event_type, key_id::text, public_id, tenant_id,
  actor_type, actor_id, actor_public_id, actor_name, request_id, ip, user_agent, reason, reason_code, changes, chain_hash`;
export const EXPORT_FIELDS = 19;

export const CSV_HEADER =
  'seq,position,recordedAt,occurredAt,type,keyId,publicId,tenantId,actorType,actorId,actorPublicId,actorName,requestId,ip,userAgent,reason,reasonCode,changes,chainHash\r\n';

/** A nullable text field as JSON.stringify writes it. */
function json(value: string | null): string {
  return value === null ? 'null' : quoteJson(value);
}

/** A NOT NULL timestamptz field as Date#toISOString writes it. */
function isoTime(r: BinaryRows): string {
  return new Date(r.timestamp()!).toISOString();
}

/** One NDJSON line, in the entry shape the query API returns (AuditEntry), from the current COPY row. */
export function ndjsonLine(r: BinaryRows): string {
  return (
    `{"seq":${r.int8()},"position":${r.int8()},"recordedAt":"${isoTime(r)}","occurredAt":"${isoTime(r)}",` +
    `"type":${json(r.text())},"keyId":${json(r.text())},"publicId":${json(r.text())},"tenantId":${json(r.text())},` +
    `"actor":{"type":${json(r.text())},"id":${json(r.text())},"publicId":${json(r.text())},"name":${json(r.text())}},` +
    `"requestId":${json(r.text())},"ip":${json(r.text())},"userAgent":${json(r.text())},"reason":${json(r.text())},"reasonCode":${json(r.text())},` +
    `"changes":${r.jsonb()},"chainHash":"${r.hex()}"}\n`
  );
}

/** One CSV record, columns as in CSV_HEADER, from the current COPY row. */
export function csvLine(r: BinaryRows): string {
  const cells: (string | null)[] = [String(r.int8()), String(r.int8()), isoTime(r), isoTime(r)];
  for (let i = cells.length; i < EXPORT_FIELDS - 2; i++) cells.push(r.text());
  cells.push(r.jsonb(), r.hex());
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** The export's text: one string per chunk of COPY rows, so a stream step carries many rows. */
export async function* exportText(format: 'ndjson' | 'csv', chunks: AsyncIterable<BinaryRows>): AsyncGenerator<string> {
  const line = format === 'csv' ? csvLine : ndjsonLine;
  if (format === 'csv') yield CSV_HEADER;
  for await (const rows of chunks) {
    let out = '';
    while (rows.next()) out += line(rows);
    yield out;
  }
}
