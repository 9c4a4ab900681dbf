import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyValue = string | number | Date | Buffer | null | undefined;

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * One field in COPY's text format: `\N` for null, backslash, newline, carriage return and tab
 * escaped, dates as ISO 8601, byte arrays as bytea hex.
 */
function copyField(value: CopyValue): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]) : value;
  if (typeof value === 'number') return String(value);
  if (value instanceof Date) return value.toISOString();
  return `\\\\x${value.toString('hex')}`;
}

/** One row in COPY's text format, newline included. */
export function copyLine(values: readonly CopyValue[]): string {
  let line = copyField(values[0]);
  for (let i = 1; i < values.length; i++) line += `\t${copyField(values[i])}`;
  return `${line}\n`;
}

/**
 * Writes rows (text made of copyLine) with `COPY … FROM STDIN`: PostgreSQL's cheapest way in, as
 * one stream and with multi-row inserts. Resolves once the server has stored them. `freeze`: the
 * rows go in already frozen (no hint-bit writes or freezing vacuum later); only for a table
 * created or truncated in the current transaction.
 */
export function copyIn(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  rows: string,
  { freeze = false } = {},
): Promise<void> {
  if (rows.length === 0) return Promise.resolve();
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN${freeze ? ' WITH (FREEZE)' : ''}`));
  return new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
    stream.end(rows);
  });
}
