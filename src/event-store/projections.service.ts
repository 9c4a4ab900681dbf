import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { PG_POOL } from '../database/index.js';
import { EventNotifications, withTransaction } from '@keyledger/nestjs/internal';
import { EventStore } from './event-store.js';
import type { Checkpoint } from './event-store.types.js';
import type { Projection } from './projection.js';
import { replayProjection } from './projection-replay.js';
import { ProjectionRunner, type ProjectionStatus } from './projection-runner.js';
import { assertTransactionIdsAhead } from './transaction-id-check.js';

export class UnknownProjectionError extends Error {}

/** How long catchUp waits at most, unless told otherwise: such a transaction may stay open for hours. */
const CATCH_UP_TIMEOUT_MS = 30_000;

/** Whether checkpoint `a` lies before `b` in the gap-safe order (transaction id, then position). */
export function isBefore(a: Checkpoint, b: Checkpoint): boolean {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  return ta < tb || (ta === tb && a.position < b.position);
}

/** Owns every projection: runs the async ones, rebuilds any, reports positions and lag. */
@Injectable()
export class ProjectionsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ProjectionsService.name);
  private readonly runners = new Map<string, ProjectionRunner>();
  private pollTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private started = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly notifications: EventNotifications,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  registerInline(projection: Projection): void {
    this.store.registerInline(projection);
  }

  registerAsync(projection: Projection, batchSize?: number): ProjectionRunner {
    const runner = new ProjectionRunner(projection, this.pool, this.store, batchSize);
    this.runners.set(projection.name, runner);
    if (this.started) {
      void runner.init().then(
        () => runner.wake(),
        (error: unknown) =>
          this.logger.error(`projection ${projection.name} could not start: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    return runner;
  }

  runner(name: string): ProjectionRunner {
    const runner = this.runners.get(name);
    if (!runner) throw new UnknownProjectionError(`no async projection named "${name}"`);
    return runner;
  }

  names(): string[] {
    return [...this.store.inlineProjections().map((p) => p.name), ...this.runners.keys()];
  }

  async onApplicationBootstrap(): Promise<void> {
    await assertTransactionIdsAhead(this.pool);
    this.started = true;
    for (const runner of this.runners.values()) await runner.init();
    // Off in the CLI: it runs a projection only when asked (catchUp, rebuild), never on a timer.
    if (!this.config.asyncProjectionsEnabled) return;
    const wakeAll = (): void => {
      for (const runner of this.runners.values()) void runner.wake();
    };
    this.unsubscribe.push(this.notifications.onEvent(wakeAll), this.notifications.onReconnect(wakeAll));
    // Polling is the fallback for lost notifications and for events a reader had to wait for.
    this.pollTimer = setInterval(wakeAll, this.config.projectionPollMs);
    this.pollTimer.unref();
    wakeAll();
  }

  /**
   * Waits until every async projection has applied every event committed when it was called (or
   * cannot go on: halted, stopped, waiting to retry), for at most `timeoutMs`; resolves false if
   * that time ran out first. A runner reads only below the oldest transaction still running in the
   * cluster (the gap-safe order), so one pass can stop short of a committed event while an older
   * transaction, of any database, is open: the runner then wakes itself again until it reaches it,
   * and each of its passes is looked at (ProjectionRunner.nextPass). Another instance's runner applying the events counts too: the
   * checkpoint is the shared one.
   */
  async catchUp(timeoutMs = CATCH_UP_TIMEOUT_MS): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const client = await this.pool.connect();
    let head: Checkpoint;
    try {
      head = await this.store.lastCheckpoint(client);
    } finally {
      client.release();
    }
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    try {
      const caughtUp = await Promise.all(
        [...this.runners.values()].map(async (runner) => {
          await runner.wake();
          // Each pass (its own re-wakes while the gate holds events back) until it is at the head
          // as it was when called: later appends, which may never stop, are not waited for.
          for (;;) {
            if (!runner.canProgress || !isBefore(await runner.checkpoint(), head)) return true;
            if (Date.now() >= deadline) return false;
            await Promise.race([runner.nextPass(), timeUp]);
          }
        }),
      );
      return caughtUp.every(Boolean);
    } finally {
      clearTimeout(timer);
    }
  }

  async rebuild(name: string, onProgress?: (done: number) => void): Promise<void> {
    const runner = this.runners.get(name);
    if (runner) return runner.rebuild(onProgress);
    const inline = this.store.inlineProjections().find((p) => p.name === name);
    if (!inline) throw new UnknownProjectionError(`no projection named "${name}"; known: ${this.names().join(', ')}`);
    await this.rebuildInline(inline, onProgress);
  }

  /**
   * An inline projection is rebuilt in one transaction that holds SHARE on events: appends wait,
   * so the replay sees every event and no append can interleave with it.
   */
  private async rebuildInline(projection: Projection, onProgress?: (done: number) => void): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      await client.query('LOCK TABLE events IN SHARE MODE');
      await replayProjection(this.pool, client, this.store, projection, { mode: 'locked', onProgress });
    });
  }

  async status(): Promise<ProjectionStatus[]> {
    const inline: ProjectionStatus[] = this.store
      .inlineProjections()
      .map((p) => ({ name: p.name, kind: 'inline', state: 'inline', lag: 0 }));
    const async = await Promise.all([...this.runners.values()].map((r) => r.status()));
    return [...inline, ...async];
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.pollTimer);
    for (const off of this.unsubscribe) off();
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
  }
}
