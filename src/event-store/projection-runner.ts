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

/** What one committed batch applied: how many events, and the checkpoint it moved to. */
export interface AppliedBatch {
  count: number;
  checkpoint: Checkpoint;
}

/** A batch's outcome: `behind`, it read nothing although committed events lie after the checkpoint. */
interface BatchResult {
  applied: number;
  behind: boolean;
}

/** A stable advisory-lock key per projection name (two 32-bit halves avoid hashtext collisions with others). */
const LOCK_SQL = `SELECT pg_try_advisory_xact_lock(hashtext('keyledger.projection'), hashtext($1)) AS locked`;
const BLOCKING_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('keyledger.projection'), hashtext($1))`;

/**
 * Whether a committed event lies after the projection's checkpoint. Asked when a batch read
 * nothing: such an event is held back by the gate (an older transaction still runs) or being
 * applied by another instance (which holds the lock). One index probe (the checkpoint as two
 * scalar subqueries: a join's row comparison would not be an index condition).
 */
const BEHIND_SQL = `SELECT EXISTS (
  SELECT 1 FROM events WHERE (transaction_id, global_position) > (
    (SELECT transaction_id FROM projection_checkpoints WHERE name = $1), (SELECT position FROM projection_checkpoints WHERE name = $1))
) AS behind`;

/** Resolves and empties a list of waiters. */
function release(waiters: (() => void)[]): void {
  for (const resolve of waiters.splice(0)) resolve();
}

/** The first self re-wake after a batch came back behind, doubled at each one after it up to the cap. */
const REWAKE_FIRST_MS = 5;
const REWAKE_CAP_MS = 200;

/**
 * Runs one async projection: each batch is one transaction that takes a transaction-scoped
 * advisory lock (so one instance works at a time, also behind PgBouncer), reads the events after
 * the checkpoint, applies them and moves the checkpoint with compare-and-set. An event that fails
 * to apply halts the projection: skipping it could hide a revocation. A batch that fails because
 * the database is unreachable is not the event's fault: the runner retries it with backoff and
 * carries on by itself once the database is back. A runner that stops short of committed events
 * (held back by an older transaction still running, or applied by another instance meanwhile)
 * wakes itself again after REWAKE_FIRST_MS, doubling to REWAKE_CAP_MS, until it has reached them.
 */
export class ProjectionRunner {
  private readonly logger: Logger;
  private readonly retry: RetryBackoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private rewakeTimer: NodeJS.Timeout | undefined;
  private rewakeMs = REWAKE_FIRST_MS;
  private readonly appliedListeners = new Set<(batch: AppliedBatch) => void>();
  private readonly passWaiters: (() => void)[] = [];
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
      release(this.passWaiters);
      if (this.again && this.state === 'idle') void this.wake(); // woken after the loop's last look
    });
    return this.pending;
  }

  /**
   * Resolves when the pass running now, or else the next one (a wake, or its own re-wake), has
   * ended. A runner behind its head always has one coming (its re-wake, at most REWAKE_CAP_MS away).
   */
  nextPass(): Promise<void> {
    if (this.pending === undefined && !this.canProgress) return Promise.resolve();
    return new Promise((resolve) => this.passWaiters.push(resolve));
  }

  /** Calls `listener` after each committed batch that applied events; returns the unsubscribe. */
  onApplied(listener: (batch: AppliedBatch) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  private async loop(): Promise<void> {
    let behind: boolean;
    do {
      this.again = false;
      this.state = 'running';
      clearTimeout(this.rewakeTimer); // this pass does what it was to do
      this.rewakeTimer = undefined;
      try {
        let batch: BatchResult;
        do {
          batch = await this.nextBatch(false);
        } while (batch.applied > 0 && this.state === 'running'); // until a batch comes back empty
        behind = batch.behind;
        if (this.state === 'running') this.state = 'idle';
        this.retry.succeeded();
      } catch (error) {
        if ((this.state as RunnerState) === 'stopped') return; // stop() may have run meanwhile
        if (isConnectionError(error)) this.retryLater(error);
        else await this.halt(error);
        return;
      }
    } while (this.again && this.state === 'idle');
    if (this.state === 'idle' && behind) this.rewakeLater();
    else this.rewakeMs = REWAKE_FIRST_MS;
  }

  /** Behind the head (see BEHIND_SQL): wakes again after a delay that grows while it stays behind. */
  private rewakeLater(): void {
    this.rewakeTimer = setTimeout(() => {
      this.rewakeTimer = undefined;
      void this.wake();
    }, this.rewakeMs);
    this.rewakeTimer.unref();
    this.rewakeMs = Math.min(this.rewakeMs * 2, REWAKE_CAP_MS);
  }

  /**
   * Applies one batch; returns how many events it applied (0: caught up, or — unless `wait` —
   * another instance holds the lock). A rebuild waits for the lock instead of giving up.
   */
  async runBatch(wait = false): Promise<number> {
    return (await this.nextBatch(wait)).applied;
  }

  private async nextBatch(wait: boolean): Promise<BatchResult> {
    let moved: Checkpoint | undefined;
    const result = await withTransaction(this.pool, async (client): Promise<BatchResult> => {
      if (wait) {
        await client.query(BLOCKING_LOCK_SQL, [this.name]);
      } else {
        const { rows } = await client.query<{ locked: boolean }>(LOCK_SQL, [this.name]);
        // Another instance works on it; this transaction changes nothing.
        if (!rows[0].locked) return { applied: 0, behind: await this.behind(client) };
      }
      const applied = await this.applyNext(client);
      if (applied === undefined) return { applied: 0, behind: await this.behind(client) };
      moved = applied.checkpoint;
      return { applied: applied.count, behind: false };
    });
    if (moved !== undefined) this.tellApplied({ count: result.applied, checkpoint: moved });
    return result;
  }

  private async behind(client: PoolClient): Promise<boolean> {
    const { rows } = await client.query<{ behind: boolean }>(BEHIND_SQL, [this.name]);
    return rows[0].behind;
  }

  private tellApplied(batch: AppliedBatch): void {
    for (const listener of this.appliedListeners) {
      try {
        listener(batch);
      } catch (error) {
        this.logger.error(`an applied-events listener failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  /** Applies the events after the checkpoint, up to a batch; undefined when there are none it may read. */
  private async applyNext(client: PoolClient): Promise<AppliedBatch | undefined> {
    const checkpoint = await this.readCheckpoint(client);
    const events = await this.store.readAll(checkpoint, this.batchSize, client);
    if (events.length === 0) return undefined;
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
    return { count: events.length, checkpoint: { transactionId: last.transactionId, position: last.position } };
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
    clearTimeout(this.rewakeTimer);
    this.rewakeTimer = undefined;
    release(this.passWaiters);
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
