import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '../database/index.js';
import { EventNotifications, type EventNotification } from '../event-store/index.js';
import { keyCards } from '../keys/index.js';

/** One appended event as the live tail shows it: ids, position, type, actor and time; never a payload. */
export interface TailEvent {
  position: number;
  type: string;
  version: number;
  keyId: string | null;
  publicId: string | null;
  tenantId: string | null;
  /** The key's current name. */
  name: string | null;
  /** As the history and audit log name it; a key's publicId and name as they are now, which is when it acted. */
  actor: { type: string; id: string; publicId: string | null; name: string | null } | null;
  recordedAt: string;
}

/** Who watches: an `admin` key sees every tenant, any other key only its own (as /admin/audit). */
export interface TailViewer {
  crossTenant: boolean;
  tenantId: string;
}

export interface TailSink {
  event(event: TailEvent): void;
  /** More events were missed than a catch-up replays: the client should reload what it shows. */
  gap(): void;
  close(): void;
}

interface Subscriber {
  viewer: TailViewer;
  sink: TailSink;
  /** Live events held back while this subscriber's catch-up query runs. */
  buffer: TailEvent[] | undefined;
}

interface EventRow {
  position: number;
  stream_id: string;
  version: number;
  type: string;
  actor: { type?: unknown; id?: unknown } | null;
  recorded_at: Date;
}

const KEY_STREAM = /^key-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A reconnecting client, or this process after a LISTEN reconnect, replays at most this many events. */
export const CATCH_UP_LIMIT = 1000;
const BATCH_DELAY_MS = 15;
export const MAX_TAIL_SUBSCRIBERS = 500;

export function canSee(viewer: TailViewer, event: TailEvent): boolean {
  return viewer.crossTenant || (event.tenantId !== null && event.tenantId === viewer.tenantId);
}

/**
 * The live tail behind /console/api/audit/tail. One subscription to the event store's LISTEN/NOTIFY
 * feed per process, whatever the number of viewers: notifications are batched, each batch is
 * looked up once (events for actor and time, api_keys for the tenant, public id and name) and
 * then fanned out to each viewer it is visible to. The notification itself carries ids only, and
 * the tenant boundary is applied here, server-side, before anything is written to a stream.
 */
@Injectable()
export class LiveTail implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(LiveTail.name);
  private readonly subscribers = new Set<Subscriber>();
  private pending: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** The highest position this process has been notified of (the start of a catch-up after a LISTEN reconnect). */
  private lastPosition = 0;
  private stopped = false;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly notifications: EventNotifications,
  ) {}

  onModuleInit(): void {
    this.unsubscribe.push(
      this.notifications.onEvent((n) => this.notified(n)),
      // Notifications sent while LISTEN was down are lost: replay from the last one seen.
      this.notifications.onReconnect(() => this.enqueueWork(() => this.catchUpAll())),
    );
  }

  get size(): number {
    return this.subscribers.size;
  }

  /**
   * Starts a viewer's stream. With `afterPosition` (the SSE Last-Event-ID of a reconnecting client)
   * the events it missed are replayed first; live events meanwhile are held back, then sent.
   */
  async subscribe(viewer: TailViewer, sink: TailSink, afterPosition?: number): Promise<() => void> {
    const subscriber: Subscriber = { viewer, sink, buffer: afterPosition === undefined ? undefined : [] };
    this.subscribers.add(subscriber);
    const remove = (): void => {
      this.subscribers.delete(subscriber);
    };
    if (afterPosition === undefined) return remove;
    try {
      const { events, complete } = await this.readAfter(afterPosition);
      const sent = new Set<number>();
      if (!complete) sink.gap();
      for (const event of events) {
        if (!canSee(viewer, event)) continue;
        sent.add(event.position);
        sink.event(event);
      }
      for (const event of subscriber.buffer ?? []) if (!sent.has(event.position)) sink.event(event);
    } catch (error) {
      remove();
      throw error;
    } finally {
      subscriber.buffer = undefined;
    }
    return remove;
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const off of this.unsubscribe) off();
    // Open streams would otherwise hold the HTTP server's close() open for ever.
    for (const subscriber of this.subscribers) subscriber.sink.close();
    this.subscribers.clear();
  }

  private notified(notification: EventNotification): void {
    this.lastPosition = Math.max(this.lastPosition, notification.position);
    if (this.subscribers.size === 0 || this.stopped) return;
    this.pending.push(notification.position);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const positions = this.pending;
      this.pending = [];
      this.enqueueWork(async () => this.broadcast(await this.lookUp(positions)));
    }, BATCH_DELAY_MS);
  }

  /** Batches are looked up and sent one after another, so viewers get them in notification order. */
  private enqueueWork(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => {
      this.logger.warn(`live tail lookup failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  private broadcast(events: TailEvent[]): void {
    for (const event of events) {
      for (const subscriber of this.subscribers) {
        if (!canSee(subscriber.viewer, event)) continue;
        if (subscriber.buffer) subscriber.buffer.push(event);
        else subscriber.sink.event(event);
      }
    }
  }

  private async catchUpAll(): Promise<void> {
    if (this.subscribers.size === 0) return;
    const { events, complete } = await this.readAfter(this.lastPosition);
    if (!complete) for (const subscriber of this.subscribers) subscriber.sink.gap();
    if (events.length > 0) this.lastPosition = Math.max(this.lastPosition, events[events.length - 1].position);
    this.broadcast(events);
  }

  /** The events after `position`, oldest first: at most the newest CATCH_UP_LIMIT, `complete: false` when more were missed. */
  private async readAfter(position: number): Promise<{ events: TailEvent[]; complete: boolean }> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT global_position AS position, stream_id, stream_version AS version, type, metadata->'actor' AS actor, recorded_at
       FROM events WHERE global_position > $1 ORDER BY global_position DESC LIMIT $2`,
      [position, CATCH_UP_LIMIT + 1],
    );
    const complete = rows.length <= CATCH_UP_LIMIT;
    return { events: await this.enrich(rows.slice(0, CATCH_UP_LIMIT).reverse()), complete };
  }

  private async lookUp(positions: number[]): Promise<TailEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT global_position AS position, stream_id, stream_version AS version, type, metadata->'actor' AS actor, recorded_at
       FROM events WHERE global_position = ANY($1::bigint[]) ORDER BY global_position`,
      [positions],
    );
    return this.enrich(rows);
  }

  /** Adds each key's and acting key's tenant, public id and name from the read model (written in the event's own transaction). */
  private async enrich(rows: EventRow[]): Promise<TailEvent[]> {
    const named = rows.flatMap((r) => [KEY_STREAM.exec(r.stream_id)?.[1], r.actor?.type === 'api-key' ? r.actor.id : undefined]);
    const keyIds = [...new Set(named.filter((id): id is string => typeof id === 'string' && UUID.test(id)))];
    const keys = await keyCards(this.pool, keyIds);
    return rows.map((row) => {
      const keyId = KEY_STREAM.exec(row.stream_id)?.[1] ?? null;
      const key = keyId === null ? undefined : keys.get(keyId);
      const actor = row.actor;
      const actorKey = actor?.type === 'api-key' && typeof actor.id === 'string' ? keys.get(actor.id) : undefined;
      return {
        position: row.position,
        type: row.type,
        version: row.version,
        keyId,
        publicId: key?.publicId ?? null,
        tenantId: key?.tenantId ?? null,
        name: key?.name ?? null,
        actor:
          actor && typeof actor.type === 'string' && typeof actor.id === 'string'
            ? { type: actor.type, id: actor.id, publicId: actorKey?.publicId ?? null, name: actorKey?.name ?? null }
            : null,
        recordedAt: row.recorded_at.toISOString(),
      };
    });
  }
}
