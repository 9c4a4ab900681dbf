// class-validator's check, from the library it wraps: class-validator itself takes a third of a second to load.
import isISO8601Module from 'validator/lib/isISO8601.js';
import { UsageError } from './errors.js';

const isISO8601 = isISO8601Module.default;

/** stdout is the command's result (a table, a key, JSON); everything else goes to stderr. */
export function writeOut(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function writeErr(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function writeJson(value: unknown): void {
  writeOut(JSON.stringify(value, null, 2));
}

export type Cell = string | number | null | undefined;

/** A plain-text table: a header row, then one row per item, columns padded to the widest cell. */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = (cell: Cell): string => (cell === null || cell === undefined || cell === '' ? '-' : String(cell));
  const cells = [headers.map(String), ...rows.map((row) => row.map(text))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `label  value` lines, labels aligned. */
export function renderFields(fields: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields
    .map(([label, value]) => `${label.padEnd(width)}  ${value === null || value === undefined || value === '' ? '-' : String(value)}`)
    .join('\n');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * `30d`, `24h`, `15m`, `90s`, `2w`, or combined (`1h30m`) into seconds. Anything else, or zero,
 * is a usage error naming the option.
 */
export function parseDuration(raw: string, option: string): number {
  const text = raw.trim();
  if (!/^(\d+[smhdw])+$/.test(text)) {
    throw new UsageError(`${option} must be a duration such as 30d, 24h, 15m or 1h30m, got "${raw}"`);
  }
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) seconds += Number(amount) * UNIT_SECONDS[unit];
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new UsageError(`${option} must be longer than zero, got "${raw}"`);
  return seconds;
}

/** A duration, or `0`: none (a grace period of zero). */
export function parseDurationOrZero(raw: string, option: string): number {
  return raw.trim() === '0' ? 0 : parseDuration(raw, option);
}

/** An ISO 8601 instant (as the HTTP API accepts it). */
export function parseInstant(raw: string, option: string): Date {
  const text = raw.trim();
  if (!isISO8601(text, { strict: true, strictSeparator: true }) || Number.isNaN(Date.parse(text))) {
    throw new UsageError(`${option} must be an ISO 8601 date-time such as 2027-01-01T00:00:00Z, got "${raw}"`);
  }
  return new Date(text);
}

/** An instant, or a duration meaning "that long ago" (`--since 7d`). */
export function parseInstantOrAgo(raw: string, option: string, now: Date): Date {
  if (/^\s*(\d+[smhdw])+\s*$/.test(raw)) return new Date(now.getTime() - parseDuration(raw, option) * 1000);
  try {
    return parseInstant(raw, option);
  } catch {
    throw new UsageError(`${option} must be an ISO 8601 date-time or a duration ago such as 24h or 7d, got "${raw}"`);
  }
}

export function parsePositiveInt(raw: string, option: string, max: number): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > max) {
    throw new UsageError(`${option} must be a whole number from 1 to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

/** Repeatable options arrive one value at a time; commander passes the previous array back in. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `3d 4h`: how far a moment is from now, for people. */
export function humanizeSeconds(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s}s`;
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** An ISO instant with how far it is from now: `2026-01-01T00:00:00.000Z (in 29d 23h)`. */
export function describeInstant(iso: string | null, now: Date): string | null {
  if (iso === null) return null;
  const delta = (Date.parse(iso) - now.getTime()) / 1000;
  return `${iso} (${delta >= 0 ? `in ${humanizeSeconds(delta)}` : `${humanizeSeconds(-delta)} ago`})`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
