// Times, sizes and values as the console shows them.

import type { Changes } from './types';

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'long' });

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** "in 3 days", "2 hours ago", "now". */
export function relativeTime(iso: string, now = Date.now()): string {
  const diff = Date.parse(iso) - now;
  const abs = Math.abs(diff);
  if (abs < 10_000) return 'just now';
  for (const [unit, ms] of UNITS) {
    if (abs >= ms || unit === 'second') return relative.format(Math.round(diff / ms), unit);
  }
  return iso;
}

export function exactTime(iso: string): string {
  return exact.format(new Date(iso));
}

export const DAY_MS = 86_400_000;

/** An active key whose expiry is within 7 days. */
export function expiresSoon(expiresAt: string | null, now = Date.now()): boolean {
  if (expiresAt === null) return false;
  const left = Date.parse(expiresAt) - now;
  return left > 0 && left <= 7 * DAY_MS;
}

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(formatValue).join(', ');
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k}=${formatValue(v)}`).join(', ');
  }
  if (typeof value === 'string') {
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) && !Number.isNaN(Date.parse(value)) ? exactTime(value) : value;
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

/** An event's `changes` as lines: "field: a → b", or "field: b" where there was nothing before. */
export function describeChanges(changes: Changes): string[] {
  return Object.entries(changes).map(([field, { from, to }]) =>
    from === null ? `${field}: ${formatValue(to)}` : `${field}: ${formatValue(from)} → ${formatValue(to)}`,
  );
}

export function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

/** "a, b c" → ["a", "b", "c"]. */
export function parseList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** One `key=value` per line (or comma-separated). Returns the map or the first problem. */
export function parseTags(text: string): { tags: Record<string, string> } | { error: string } {
  const tags: Record<string, string> = {};
  for (const raw of text.split(/\n|,/)) {
    const line = raw.trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { error: `"${line}" is not key=value` };
    const key = line.slice(0, eq).trim();
    if (key in tags) return { error: `tag "${key}" is given twice` };
    tags[key] = line.slice(eq + 1).trim();
  }
  return { tags };
}

export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

/** Saves a downloaded Blob under `filename` (an object URL clicked once, then released). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
