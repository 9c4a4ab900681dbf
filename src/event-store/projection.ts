import type { PoolClient } from 'pg';
import type { RecordedEvent } from './event-store.types.js';

/**
 * A read model fed by events. Inline projections run inside the append's transaction; async ones
 * in a ProjectionRunner that commits rows and checkpoint together. `apply` must be a pure
 * function of the events (and the rows it wrote before), so a rebuild reproduces the live rows
 * exactly. A rebuild starts from an empty read model: `reset` empties it, or, for a read model that
 * is one append-only table (`swapsTable`), the rebuild fills a new table and swaps it in.
 */
export interface Projection {
  readonly name: string;
  apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void>;
  /** Empties the read model before a rebuild (not called for a projection with `swapsTable`). */
  reset?(client: PoolClient): Promise<void>;
  /**
   * The table a rebuild builds anew and swaps in (src/event-store/table-swap.ts) instead of
   * emptying it: for a table that refuses TRUNCATE, and whose readers must not wait for a rebuild.
   * `replay` is then given the new table's name and must write there; it is required.
   */
  readonly swapsTable?: string;
  /**
   * Optional fast path for rebuilds. Without it a rebuild calls `apply` batch after batch; with it
   * the rebuild streams every event into the returned replay, which may keep its state in memory
   * between batches (the read model starts empty and nothing else writes to it meanwhile).
   */
  replay?(client: PoolClient, table?: string): ProjectionReplay;
}

/** Receives a rebuild's events, in one transaction, on the rebuild's connection. */
export interface ProjectionReplay {
  /**
   * `global`: the read order of every reader (transaction id, position).
   * `stream`: grouped by stream, each stream in version order: enough for a read model built per
   * stream, and it lets the replay fold a stream whole and write its row once.
   */
  readonly order: 'global' | 'stream';
  /**
   * Whether `prepare` reads the events' metadata (actor, request id, …). `false` spares the
   * replay parsing it (a tenth of a read-model rebuild); the events then carry an empty `metadata`.
   */
  readonly readsMetadata: boolean;
  /**
   * Does a batch's work in Node and returns what stores it. The rebuild calls `prepare` for each
   * batch in order and runs the returned function once the previous batch is stored, so Node folds
   * one batch while PostgreSQL writes the one before. Every statement runs on the rebuild's client.
   */
  prepare(events: readonly RecordedEvent[]): () => Promise<void>;
  /** After the last batch is stored: store what is still held in memory. */
  end(): Promise<void>;
}
