import { Logger } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { isConnectionError, RetryBackoff, withTransaction } from '@keyledger/nestjs/internal';
import type { EventStore } from './event-store.js';
import type { Checkpoint } from './event-store.types.js';
import type { Projection } from './projection.js';
import { replayProjection } from './projection-replay.js';

/** `retrying`: the database could not be reached; the runner tries again after a backoff, by itself. */
export type RunnerState = 'idle' | 'running' | 'retrying' | 'halted' | 'stopped';

export interface ProjectionStatus {
  name: string;
  kind: 'inline' | 'async';
  state: RunnerState | 'inline';
  checkpoint?: Checkpoint;
  lag: number;
  error?: string;
}

export class CheckpointMismatchError extends Error {}

/** A stable advisory-lock key per projection name (two 32-bit halves avoid hashtext collisions with others). */
const LOCK_SQL = `SELECT pg_try_advisory_xact_lock(hashtext('keyledger.projection'), hashtext($1)) AS locked`;
const BLOCKING_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('keyledger.projection'), hashtext($1))`;

/**
 * Runs one async projection: each batch is one transaction that takes a transaction-scoped
 * advisory lock (so one instance works at a time, also behind PgBouncer), reads the events after
 * the checkpoint, applies them and moves the checkpoint with compare-and-set. An event that fails
 * to apply halts the projection: skipping it could hide a revocation. A batch that fails because
 * the database is unreachable is not the event's fault: the runner retries it with backoff and
 * carries on by itself once the database is back.
 */
export class ProjectionRunner {
  private readonly logger: Logger;
  private readonly retry: RetryBackoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private state: RunnerState = 'idle';
  private error: string | undefined;
  private pending: Promise<void> | undefined;
  private again = false;

  constructor(
    readonly projection: Projection,
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly batchSize = 500,
  ) {
    this.logger = new Logger(`Projection:${projection.name}`);
    this.retry = new RetryBackoff(this.logger, 'projection batch');
  }

  get name(): string {
    return this.projection.name;
  }

  async init(): Promise<void> {
    await this.pool.query('INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [this.name]);
  }

  /** Whether a wake can move it on: not halted, stopped or waiting to retry. */
  get canProgress(): boolean {
    return this.state === 'idle' || this.state === 'running';
  }

  /** Catch up to the head. Concurrent calls coalesce into one loop. Resolves when caught up (or halted, or waiting to retry). */
  wake(): Promise<void> {
    if (this.state === 'halted' || this.state === 'stopped' || this.state === 'retrying') return Promise.resolve();
    if (this.pending) {
      this.again = true;
      return this.pending;
    }
    this.pending = this.loop().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      this.state = 'running';
      try {
        while ((await this.runBatch()) > 0 && this.state === 'running') {
          // keep going until a batch comes back empty
        }
        if (this.state === 'running') this.state = 'idle';
        this.retry.succeeded();
      } catch (error) {
        if ((this.state as RunnerState) === 'stopped') return; // stop() may have run meanwhile
        if (isConnectionError(error)) this.retryLater(error);
        else await this.halt(error);
        return;
      }
    } while (this.again && this.state === 'idle');
  }

  /**
   * Applies one batch; returns how many events it applied (0: caught up, or — unless `wait` —
   * another instance holds the lock). A rebuild waits for the lock instead of giving up.
   */
  async runBatch(wait = false): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      if (wait) {
        await client.query(BLOCKING_LOCK_SQL, [this.name]);
      } else {
        const { rows } = await client.query<{ locked: boolean }>(LOCK_SQL, [this.name]);
        if (!rows[0].locked) return 0; // another instance works on it; this transaction did nothing
      }
      return this.applyNext(client);
    });
  }

  private async applyNext(client: PoolClient): Promise<number> {
    const checkpoint = await this.readCheckpoint(client);
    const events = await this.store.readAll(checkpoint, this.batchSize, client);
    if (events.length === 0) return 0;
    await this.projection.apply(client, events);
    const last = events[events.length - 1];
    const moved = await client.query(
      `UPDATE projection_checkpoints SET transaction_id = $2::xid8, position = $3, updated_at = now(), halted_at = NULL, halted_error = NULL
       WHERE name = $1 AND transaction_id = $4::xid8 AND position = $5`,
      [this.name, last.transactionId, last.position, checkpoint.transactionId, checkpoint.position],
    );
    if (moved.rowCount !== 1) {
      throw new CheckpointMismatchError(`checkpoint of ${this.name} moved under us; another runner is active`);
    }
    return events.length;
  }

  private async readCheckpoint(client: PoolClient): Promise<Checkpoint> {
    const { rows } = await client.query<{ transaction_id: string; position: string }>(
      'SELECT transaction_id::text AS transaction_id, position FROM projection_checkpoints WHERE name = $1',
      [this.name],
    );
    if (rows.length === 0) throw new Error(`projection ${this.name} has no checkpoint row; was init() called?`);
    return { transactionId: rows[0].transaction_id, position: Number(rows[0].position) };
  }

  async checkpoint(): Promise<Checkpoint> {
    const client = await this.pool.connect();
    try {
      return await this.readCheckpoint(client);
    } finally {
      client.release();
    }
  }

  /** Waits a backoff (logging once per outage), then catches up again; wakes meanwhile are no-ops. */
  private retryLater(error: unknown): void {
    this.state = 'retrying';
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state !== 'retrying') return;
      this.state = 'idle';
      void this.wake();
    }, this.retry.failed(error));
    this.retryTimer.unref();
  }

  private async halt(error: unknown): Promise<void> {
    this.state = 'halted';
    this.error = error instanceof Error ? error.message : String(error);
    this.logger.error(`halted: ${this.error}. Fix the cause, then restart or resume the projection.`);
    await this.pool
      .query('UPDATE projection_checkpoints SET halted_at = now(), halted_error = $2 WHERE name = $1', [this.name, this.error])
      .catch(() => undefined);
  }

  /** Clears a halt (or a pending retry) and retries from the checkpoint now. */
  resume(): Promise<void> {
    if (this.state === 'halted' || this.state === 'retrying') {
      clearTimeout(this.retryTimer);
      this.state = 'idle';
      this.error = undefined;
    }
    return this.wake();
  }

  /**
   * Empties the read model and replays every event into it in one transaction (readers never see
   * it half rebuilt: they see the old rows, or wait, until it commits), then catches up with what
   * was appended meanwhile.
   */
  async rebuild(onProgress?: (done: number) => void): Promise<void> {
    await this.pending;
    let done = 0;
    await withTransaction(this.pool, async (client) => {
      await client.query(BLOCKING_LOCK_SQL, [this.name]);
      const reached = await replayProjection(this.pool, client, this.store, this.projection, {
        mode: 'gated',
        onProgress: (n) => onProgress?.((done = n)),
      });
      await client.query(
        `UPDATE projection_checkpoints SET transaction_id = $2::xid8, position = $3, updated_at = now(), halted_at = NULL, halted_error = NULL WHERE name = $1`,
        [this.name, reached.transactionId, reached.position],
      );
    });
    this.state = 'idle';
    this.error = undefined;
    for (;;) {
      const n = await this.runBatch(true);
      if (n === 0) break;
      done += n;
      onProgress?.(done);
    }
  }

  stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    return this.pending ?? Promise.resolve();
  }

  async status(): Promise<ProjectionStatus> {
    const checkpoint = await this.checkpoint();
    return {
      name: this.name,
      kind: 'async',
      state: this.state,
      checkpoint,
      lag: await this.store.countAfter(checkpoint),
      ...(this.error ? { error: this.error } : {}),
    };
  }
}
