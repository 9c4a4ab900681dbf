import { csvCell } from '../../../common/index.js';
import type { KeyReportLine } from './key-report.js';

/** `ndjson`: one JSON object per key (KeyReportLine). `csv`: RFC 4180 with a header row, CRLF, formulas disarmed. */
export const KEY_REPORT_FORMATS = ['ndjson', 'csv'] as const;
export type KeyReportFormat = (typeof KEY_REPORT_FORMATS)[number];

/** The CSV columns: KeyReportLine flattened (createdBy into its type and id, scopes space-separated). */
const CSV_COLUMNS = [
  'tenantId',
  'name',
  'keyId',
  'publicId',
  'scopes',
  'createdAt',
  'createdByType',
  'createdBy',
  'lastRotatedAt',
  'lastUsedAt',
  'expiresAt',
  'status',
  'reason',
  'reasonCode',
  'secretAgeDays',
] as const;

export const KEY_REPORT_CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

function csvLine(l: KeyReportLine): string {
  const cells = [
    l.tenantId,
    l.name,
    l.keyId,
    l.publicId,
    l.scopes.join(' '),
    l.createdAt,
    l.createdBy.type,
    l.createdBy.id,
    l.lastRotatedAt,
    l.lastUsedAt,
    l.expiresAt,
    l.status,
    l.reason,
    l.reasonCode,
    String(l.secretAgeDays),
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * The report's text, one chunk per page of lines. The lines are objects already (each key is
 * replayed from its events), so NDJSON is JSON.stringify's; ADR 0007's hand-written writer is for
 * the audit export's COPY rows, which are never parsed into objects. CSV is written in Node for the
 * reasons ADR 0007 gives (CRLF, empty NULL, the formula guard), with the audit export's csvCell.
 */
export async function* keyReportText(format: KeyReportFormat, pages: AsyncIterable<KeyReportLine[]>): AsyncGenerator<string> {
  if (format === 'csv') yield KEY_REPORT_CSV_HEADER;
  for await (const lines of pages) {
    let out = '';
    for (const line of lines) out += format === 'csv' ? csvLine(line) : `${JSON.stringify(line)}\n`;
    if (out !== '') yield out;
  }
}
