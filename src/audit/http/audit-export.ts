import type { AuditEntry } from '../queries/audit-filter.js';

export const CSV_COLUMNS = [
  'seq', 'position', 'recordedAt', 'occurredAt', 'type', 'keyId', 'publicId', 'tenantId',
  'actorType', 'actorId', 'requestId', 'ip', 'userAgent', 'reason', 'changes', 'chainHash',
] as const;

/** RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so spreadsheets never run it as a formula. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(e: AuditEntry): string {
  const values = [
    e.seq, e.position, e.recordedAt, e.occurredAt, e.type, e.keyId, e.publicId, e.tenantId,
    e.actor.type, e.actor.id, e.requestId, e.ip, e.userAgent, e.reason, e.changes, e.chainHash,
  ];
  return `${values.map(csvCell).join(',')}\r\n`;
}

function line(format: 'ndjson' | 'csv', e: AuditEntry): string {
  return format === 'csv' ? csvLine(e) : `${JSON.stringify(e)}\n`;
}

export async function* exportLines(format: 'ndjson' | 'csv', entries: AsyncIterable<AuditEntry>): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  for await (const e of entries) yield line(format, e);
}

/** Like exportLines, one chunk per page: a stream step per page rather than per row. */
export async function* exportChunks(format: 'ndjson' | 'csv', pages: AsyncIterable<readonly AuditEntry[]>): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  for await (const page of pages) {
    let chunk = '';
    for (const e of page) chunk += line(format, e);
    if (chunk.length > 0) yield chunk;
  }
}
