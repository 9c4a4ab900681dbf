import { createHash } from 'node:crypto';
import type { RecordedEvent } from '../event-store/index.js';

/** The chain starts from 32 zero bytes. */
export const GENESIS: Buffer = Buffer.alloc(32);

/**
 * RFC 8785 (JCS) style canonical JSON: object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers as ECMAScript's JSON.stringify writes them, undefined members dropped.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
  return `{${members.join(',')}}`;
}

/** The canonical bytes of an event, exactly as docs/audit.md defines them for outside verifiers. */
export function canonicalEventBytes(e: RecordedEvent): Buffer {
  return Buffer.from(
    canonicalJson({
      eventId: e.eventId,
      metadata: e.metadata,
      payload: e.payload,
      position: e.position,
      recordedAt: e.recordedAt.toISOString(),
      schemaVersion: e.schemaVersion,
      streamId: e.streamId,
      streamVersion: e.streamVersion,
      type: e.type,
    }),
    'utf8',
  );
}

/** chain_n = SHA-256(chain_{n-1} ‖ canonical bytes of event n). */
export function nextChainHash(previous: Buffer, event: RecordedEvent): Buffer {
  return createHash('sha256').update(previous).update(canonicalEventBytes(event)).digest();
}
