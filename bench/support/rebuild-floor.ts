import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { replayQuery } from '../../src/event-store/event-store.js';
import { ShadowTable } from '../../src/event-store/table-swap.js';

export interface Floor {
  /** Streaming the events out as the rebuild's reader does (COPY … TO STDOUT, drained without parsing). */
  readMs: number;
  /** COPY … FREEZE of the finished rows into an identical table created in the same transaction, with no index yet. */
  loadMs: number;
  /** Building that table's indexes and constraints, as the live table has them. */
  indexMs: number;
  totalMs: number;
}

/**
 * PostgreSQL's own time for the work a rebuild of `table` gives it, on this machine and in this
 * run: read the events in the rebuild's order, then load the same rows — precomputed: the rebuilt
 * table's own rows, saved to a file beforehand — into an identical table and build the same
 * indexes, by the fastest path PostgreSQL has (COPY … FREEZE into a table created in the same
 * transaction, indexes built once at the end). No Node work but moving bytes. Rolled back.
 */
export async function rebuildFloor(pool: Pool, table: string, read: Parameters<typeof replayQuery>[0]): Promise<Floor> {
  const dir = await mkdtemp(join(tmpdir(), 'keyledger-floor-'));
  const file = join(dir, `${table}.copy`);
  const client = await pool.connect();
  try {
    await pipeline(client.query(copyTo(`COPY ${table} TO STDOUT`)), createWriteStream(file));

    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let started = performance.now();
    await pipeline(
      client.query(copyTo(`COPY (${replayQuery(read)}) TO STDOUT (FORMAT binary)`)),
      new Writable({ write: (_chunk, _enc, done) => done() }),
    );
    const readMs = performance.now() - started;
    await client.query('COMMIT');

    await client.query('BEGIN');
    try {
      const shadow = await ShadowTable.create(client, table);
      started = performance.now();
      await pipeline(createReadStream(file), client.query(copyFrom(`COPY ${shadow.name} FROM STDIN WITH (FREEZE)`)));
      const loadMs = performance.now() - started;
      started = performance.now();
      await shadow.buildIndexes();
      const indexMs = performance.now() - started;
      return { readMs, loadMs, indexMs, totalMs: readMs + loadMs + indexMs };
    } finally {
      await client.query('ROLLBACK');
    }
  } finally {
    client.release();
    await rm(dir, { recursive: true, force: true });
  }
}
