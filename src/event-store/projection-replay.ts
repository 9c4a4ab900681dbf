import type { Pool, PoolClient } from 'pg';
import { READ_SNAPSHOT, withTransaction } from '@keyledger/nestjs/internal';
import type { EventStore } from './event-store.js';
import type { Checkpoint } from './event-store.types.js';
import type { Projection, ProjectionReplay } from './projection.js';
import { ShadowTable } from './table-swap.js';

export interface ReplayOptions {
  /**
   * `locked`: the caller's transaction keeps appends out (SHARE on events): replay everything.
   * `gated`: appends go on: replay only what lies below the oldest transaction running when the
   * replay starts, as readers do; the caller then catches up the rest from the returned checkpoint.
   */
  mode: 'locked' | 'gated';
  onProgress?: (done: number) => void;
}

/** The fallback replay: `apply`, batch after batch. */
function applyInTurn(client: PoolClient, projection: Projection): ProjectionReplay {
  return {
    order: 'global',
    readsMetadata: true,
    prepare: (events) => () => projection.apply(client, events),
    end: () => Promise.resolve(),
  };
}

/**
 * Empties a projection (or, with `swapsTable`, fills a new table and swaps it in at the end) and
 * replays every event into it on `client`, inside the caller's transaction (which also keeps
 * other writers of the read model out). Events stream from a
 * COPY on a second connection, and each batch is stored while Node folds the next one. Returns
 * the checkpoint of the last event replayed (START when there were none).
 */
export async function replayProjection(
  pool: Pool,
  client: PoolClient,
  store: EventStore,
  projection: Projection,
  { mode, onProgress }: ReplayOptions,
): Promise<Checkpoint> {
  let shadow: ShadowTable | undefined;
  let replay: ProjectionReplay;
  if (projection.swapsTable !== undefined) {
    if (!projection.replay) throw new Error(`projection ${projection.name} swaps in ${projection.swapsTable} but has no replay to fill it`);
    shadow = await ShadowTable.create(client, projection.swapsTable);
    replay = projection.replay(client, shadow.name);
  } else {
    if (!projection.reset) throw new Error(`projection ${projection.name} has neither reset nor swapsTable: a rebuild cannot empty it`);
    await projection.reset(client);
    replay = projection.replay?.(client) ?? applyInTurn(client, projection);
  }
  // The reader's snapshot starts now: after the caller's lock, so `locked` sees every event. A
  // replay stopped half-way leaves the reader inside its COPY: withTransaction then closes it.
  let stored: Promise<void> = Promise.resolve();
  const reached = await withTransaction(
    pool,
    async (reader) => {
      try {
        const before = mode === 'gated' ? await store.currentXmin(reader) : undefined;
        let done = 0;
        for await (const events of store.replay(reader, { order: replay.order, before, metadata: replay.readsMetadata })) {
          const write = replay.prepare(events);
          await stored;
          stored = write();
          stored.catch(() => undefined); // awaited on the next turn
          done += events.length;
          onProgress?.(done);
        }
        await stored;
        await replay.end();
        return await store.lastCheckpoint(reader, before);
      } catch (error) {
        await stored.catch(() => undefined); // leave the caller's connection idle for its ROLLBACK
        throw error;
      }
    },
    READ_SNAPSHOT,
  );
  await shadow?.swapIn();
  return reached;
}
