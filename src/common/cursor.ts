import { createHash } from 'node:crypto';
import { ValidationError } from './domain-error.js';

/** Reading order of a paged list: `asc` oldest first, `desc` newest first. */
export const ORDERS = ['asc', 'desc'] as const;
export type Order = (typeof ORDERS)[number];

/** A cursor's values: where the last page ended (the keyset), in a list of `kind`, read in `order`. */
export type CursorValues = readonly (string | number)[];

/** 8 base64url characters of SHA-256 over the cursor's JSON: a cursor edited by hand is refused. Not a secret: a cursor grants nothing. */
function check(json: string): string {
  return createHash('sha256').update(json).digest('base64url').slice(0, 8);
}

/**
 * An opaque page cursor: the list it belongs to, its order and the keyset of the last item, as
 * base64url JSON with a checksum. The one encoding of every paged list (keys, a key's events, the
 * audit log); decodeCursor refuses anything else with a 400.
 */
export function encodeCursor(kind: string, order: Order, values: CursorValues): string {
  const json = JSON.stringify([kind, order, ...values]);
  return `${Buffer.from(json).toString('base64url')}.${check(json)}`;
}

const REFUSED = 'is not a cursor this API returned for this list and order; pass nextCursor unchanged';

/**
 * The values of a cursor encodeCursor wrote for `kind` and `order`, checked by `valid`; a cursor
 * that is malformed, edited, or from another list or order is a 400 (field `cursor`).
 */
export function decodeCursor<T extends CursorValues>(
  cursor: string,
  kind: string,
  order: Order,
  valid: (values: CursorValues) => values is T,
): T {
  const [body, sum, ...rest] = cursor.split('.');
  if (rest.length === 0 && sum !== undefined && /^[A-Za-z0-9_-]{1,400}$/.test(body)) {
    const json = Buffer.from(body, 'base64url').toString('utf8');
    if (check(json) === sum) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(json);
      } catch {
        parsed = undefined;
      }
      if (Array.isArray(parsed) && parsed[0] === kind && parsed[1] === order) {
        const values = parsed.slice(2) as unknown[];
        if (values.every((v): v is string | number => typeof v === 'string' || typeof v === 'number') && valid(values)) return values;
      }
    }
  }
  throw ValidationError.field('cursor', REFUSED);
}

/** A whole number usable as a keyset position (a version, a sequence number). */
export function isPosition(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
