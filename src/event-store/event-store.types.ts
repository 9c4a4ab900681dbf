import type { PoolClient } from 'pg';

/** `no-stream`: the stream must not exist; `any`: no check; a number: the stream's current version. */
export type ExpectedVersion = 'no-stream' | 'any' | number;

export interface NewEvent {
  /** Client-supplied id makes the append idempotent; generated when absent. */
  eventId?: string;
  type: string;
  schemaVersion: number;
  payload: unknown;
}

export type EventMetadata = Record<string, unknown>;

export interface RecordedEvent<P = unknown> {
  position: number;
  /** The writing transaction's id (xid8, as a decimal string): the first half of the read order. */
  transactionId: string;
  streamId: string;
  streamVersion: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  payload: P;
  metadata: EventMetadata;
  recordedAt: Date;
}

export interface AppendResult {
  /** The stream's version after the append. */
  version: number;
  events: RecordedEvent[];
  /** True when every event id was already stored: nothing was written. */
  idempotent: boolean;
}

/** A reader's place in the global order. Always the pair, never the position alone. */
export interface Checkpoint {
  transactionId: string;
  position: number;
}

export const START: Checkpoint = Object.freeze({ transactionId: '0', position: 0 });

/**
 * When an append's events are announced on EVENTS_CHANNEL (docs/adr/0004-notify-after-commit.md):
 * - `in-transaction`: the append's own statement calls pg_notify, which PostgreSQL delivers exactly
 *   at commit, even if this process dies right after. A committing transaction that notified holds
 *   the notify lock through its disk flush, so these appends commit one at a time: for rare changes
 *   that must reach listeners at once, such as a revocation;
 * - `after-commit`: PostCommitNotifier sends them from the pool right after the commit, in
 *   batches; lost if the process dies in between (listeners look up or resync).
 * EventStore decides in one place (`notifyTiming`): a caller's transaction is always
 * `in-transaction`, otherwise what the caller asked for, `after-commit` by default.
 */
export type NotifyTiming = 'in-transaction' | 'after-commit';

export interface AppendOptions {
  /** Join the caller's open transaction instead of opening one (then the NOTIFY is `in-transaction`). */
  client?: PoolClient;
  /** When to announce the events; `after-commit` unless given (see NotifyTiming). */
  notify?: NotifyTiming;
}

export interface ReplayReadOptions {
  /** `global`: transaction id, then position (every reader's order). `stream`: stream by stream, each in version order. */
  order: 'global' | 'stream';
  /** Only events of transactions older than this xid (decimal text), the readers' gate. */
  before?: string;
  /** Events per yielded batch. Default 5,000. */
  batchSize?: number;
  /** Read each event's metadata (default). `false` spares parsing it: events then carry an empty, frozen `metadata`. */
  metadata?: boolean;
  /** At most this many events (the first in `order`). */
  limit?: number;
}
