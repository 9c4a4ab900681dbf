import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';
import { CONNECTION_OPTIONS } from './create-pool.js';

/** The channel the registry's event store notifies on, once per appended event, at commit. */
export const EVENTS_CHANNEL = 'keyledger_events';

/** A notification on EVENTS_CHANNEL, parsed: ids and positions only. */
export interface EventNotification {
  readonly position: number;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly type: string;
}

type Listener<T> = (value: T) => void;

/** The payload's wire form: short keys keep it well under NOTIFY's 8000-byte limit. Known only here. */
interface WireNotification {
  p: number;
  s: string;
  v: number;
  t: string;
}

/** The payload EventStore.append sends for `n`. */
export function encodeNotification(n: EventNotification): string {
  const wire: WireNotification = { p: n.position, s: n.streamId, v: n.streamVersion, t: n.type };
  return JSON.stringify(wire);
}

/**
 * Any role that can connect may NOTIFY on any channel, so a payload is untrusted: one that is not
 * what EventStore.append sends is dropped. (A well-formed one only makes listeners re-read the
 * database, which holds the truth.)
 */
function parseNotification(payload: string): EventNotification | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const n = value as Partial<Record<keyof WireNotification, unknown>>;
  if (typeof n.p !== 'number' || typeof n.s !== 'string' || typeof n.v !== 'number' || typeof n.t !== 'string') return undefined;
  return { position: n.p, streamId: n.s, streamVersion: n.v, type: n.t };
}

/**
 * One dedicated (unpooled) LISTEN connection per process. Notifications sent while it is down are
 * lost, so after every reconnect it tells subscribers to resync from their last position.
 */
export class EventNotifications implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(EventNotifications.name);
  private readonly eventListeners = new Set<Listener<EventNotification>>();
  private readonly reconnectListeners = new Set<Listener<void>>();
  private readonly disconnectListeners = new Set<Listener<void>>();
  private client: Client | undefined;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private connected = false;
  private everConnected = false;
  private reconnects = 0;

  constructor(private readonly url: string) {}

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  onEvent(listener: Listener<EventNotification>): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called after a reconnect: whatever was notified meanwhile is lost, so re-read. */
  onReconnect(listener: Listener<void>): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** Called when the LISTEN connection is lost: notifications sent from now on will not arrive. */
  onDisconnect(listener: Listener<void>): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  status(): { connected: boolean; reconnects: number } {
    return { connected: this.connected, reconnects: this.reconnects };
  }

  /** The backend pid of the LISTEN connection (tests terminate it to prove recovery). */
  async backendPid(): Promise<number | undefined> {
    if (!this.client || !this.connected) return undefined;
    const { rows } = await this.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return rows[0]?.pid;
  }

  private async connect(): Promise<void> {
    const client = new Client({ ...CONNECTION_OPTIONS, connectionString: this.url, application_name: 'keyledger-listen' });
    client.on('notification', (msg) => {
      if (msg.channel !== EVENTS_CHANNEL || !msg.payload) return;
      // This runs inside pg's socket handler: a throw here would be an uncaught exception.
      const parsed = parseNotification(msg.payload);
      if (parsed === undefined) {
        this.logger.warn(`ignored a malformed notification on ${EVENTS_CHANNEL} (${msg.payload.length} characters)`);
        return;
      }
      for (const listener of this.eventListeners) {
        try {
          listener(parsed);
        } catch (error) {
          this.logger.error(`notification listener failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined); // a failed attempt must not leave its connection open
      throw error;
    }
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    this.connected = true;
    this.attempt = 0;
    if (this.everConnected) {
      this.reconnects++;
      this.logger.log('LISTEN connection re-established; resyncing');
      for (const listener of this.reconnectListeners) listener();
    }
    this.everConnected = true;
  }

  private lost(client: Client, error: unknown): void {
    if (this.stopped || client !== this.client) return;
    this.client = undefined;
    this.connected = false;
    client.end().catch(() => undefined);
    this.logger.warn(`LISTEN connection lost: ${error instanceof Error ? error.message : String(error)}`);
    for (const listener of this.disconnectListeners) listener();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.attempt++;
    const delay = Math.min(50 * 2 ** (this.attempt - 1), 5_000);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        // Logged for the first failed attempt only: an outage is one line, not one per retry.
        if (this.attempt === 1) {
          this.logger.warn(`LISTEN reconnect failed (${error instanceof Error ? error.message : String(error)}); retrying with backoff`);
        }
        this.scheduleRetry();
      });
    }, delay);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.connected = false;
    await this.client?.end().catch(() => undefined);
  }
}
