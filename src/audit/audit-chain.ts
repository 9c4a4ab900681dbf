import { createHash } from 'node:crypto';
import type { RecordedEvent } from '../event-store/index.js';

/** The chain starts from 32 zero bytes. */
export const GENESIS: Buffer = Buffer.alloc(32);

/** Strings JSON.stringify would only wrap in quotes: printable ASCII without a quote or a backslash. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON.stringify(text), without its generic walk for the common case. */
export function quoteJson(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** JSON.stringify of object keys, remembered: events reuse a small set of names. */
const quotedKeys = new Map<string, string>();

function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < 4096) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/**
 * RFC 8785 (JCS) style canonical JSON: object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers as ECMAScript's JSON.stringify writes them, undefined members dropped.
 * Written for speed (a rebuild hashes every event): the keys of an object are few, so an
 * insertion sort beats Array#sort, and most strings need no escaping.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return quoteJson(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    for (; j >= 0 && keys[j] > key; j--) keys[j + 1] = keys[j];
    keys[j + 1] = key;
  }
  let out = '{';
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${quoteKey(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/**
 * The canonical text of an event, exactly as docs/audit.md defines it for outside verifiers
 * (hashed as UTF-8); also one line of the `events-ndjson` export.
 */
export function canonicalEventText(e: RecordedEvent): string {
  return canonicalJson({
    eventId: e.eventId,
    metadata: e.metadata,
    payload: e.payload,
    position: e.position,
    recordedAt: e.recordedAt.toISOString(),
    schemaVersion: e.schemaVersion,
    streamId: e.streamId,
    streamVersion: e.streamVersion,
    type: e.type,
  });
}

/** The canonical bytes of an event, exactly as docs/audit.md defines them for outside verifiers. */
export function canonicalEventBytes(e: RecordedEvent): Buffer {
  return Buffer.from(canonicalEventText(e), 'utf8');
}

/** chain_n = SHA-256(chain_{n-1} ‖ canonical bytes of event n). */
export function nextChainHash(previous: Buffer, event: RecordedEvent): Buffer {
  return createHash('sha256').update(previous).update(canonicalEventText(event), 'utf8').digest();
}
