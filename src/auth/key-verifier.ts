import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Pool } from 'pg';
import { EventNotifications, type EventNotification } from '../event-store/index.js';
import { hasScopes } from '../token/index.js';
import type { VerificationResult } from './api-key-principal.js';
import { API_KEY_AUTH_OPTIONS, type ApiKeyAuthOptions } from './api-key-auth.options.js';
import { KEY_PEPPER } from './key-pepper.js';
import { KeyReplica } from './key-replica.js';
import { recordVerification } from './verification-metrics.js';

const KEY_STREAM_PREFIX = 'key-';
const INSUFFICIENT_SCOPE = Object.freeze({ code: 'INSUFFICIENT_SCOPE' as const });

/**
 * Verifies keys from memory and keeps the memory fresh: a LISTEN connection applies each change
 * (in milliseconds), a reconnect triggers a resync of everything it may have missed, and a
 * periodic resync is the safety net. Works in any NestJS app given only the registry's database.
 */
@Injectable()
export class KeyVerifier implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('KeyVerifier');
  private readonly pool: Pool;
  private readonly notifications: EventNotifications;
  readonly replica: KeyReplica;
  private pending = new Set<string>();
  private verifications = 0;
  private flushing: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    @Inject(API_KEY_AUTH_OPTIONS) private readonly options: ApiKeyAuthOptions,
    @Inject(KEY_PEPPER) pepper: Buffer | undefined,
  ) {
    this.pool = new Pool({ connectionString: options.databaseUrl, max: 3, application_name: 'keyledger-verifier' });
    this.pool.on('error', (error) => this.logger.warn(`idle client error: ${error.message}`));
    this.notifications = new EventNotifications(options.databaseUrl);
    this.replica = new KeyReplica(this.pool, pepper, options.tombstoneDays ?? 30);
  }

  async onModuleInit(): Promise<void> {
    // Listen first, then load: a change committed during the load is either in the loaded rows or
    // notified, and versions make applying it twice (or out of order) harmless.
    this.unsubscribe.push(
      this.notifications.onEvent((n) => this.onNotification(n)),
      this.notifications.onReconnect(() => void this.resync('LISTEN reconnect')),
    );
    await this.notifications.onModuleInit();
    const started = Date.now();
    const loaded = await this.replica.load(5000, (n) => {
      if (n % 100_000 === 0) this.logger.log(`loading keys: ${n} so far`);
    });
    this.logger.log(`loaded ${loaded} keys into memory in ${Date.now() - started} ms`);
    const interval = this.options.resyncIntervalMs ?? 30_000;
    this.resyncTimer = setInterval(() => void this.resync('periodic'), interval);
    this.resyncTimer.unref();
  }

  /** Verifies a key and, when given, that it holds every required scope. Never touches the database. */
  verify(token: string, requiredScopes?: readonly string[]): VerificationResult {
    const timed = (++this.verifications & 127) === 0; // the clock and the histogram cost more than the check
    const started = timed ? performance.now() : 0;
    let result = this.replica.verify(token);
    if (result.code === 'VALID' && requiredScopes !== undefined && !hasScopes(result.principal.scopes, requiredScopes)) {
      result = INSUFFICIENT_SCOPE;
    }
    recordVerification(result.code, timed ? (performance.now() - started) / 1000 : undefined);
    return result;
  }

  status(): { keys: number; lastSyncAt: string | null; listening: boolean; reconnects: number } {
    const { connected, reconnects } = this.notifications.status();
    return { keys: this.replica.size, lastSyncAt: this.replica.status().lastSyncAt, listening: connected, reconnects };
  }

  /** The LISTEN connection's backend pid (tests terminate it to prove recovery). */
  listenBackendPid(): Promise<number | undefined> {
    return this.notifications.backendPid();
  }

  /** Resolves when every change notified so far has been applied. */
  async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private onNotification(n: EventNotification): void {
    if (!n.s.startsWith(KEY_STREAM_PREFIX)) return;
    this.pending.add(n.s.slice(KEY_STREAM_PREFIX.length));
    if (!this.flushing) this.flushing = this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const keyIds = [...this.pending];
        this.pending = new Set();
        await this.replica.refresh(keyIds).catch((error: unknown) => {
          // The row read failed (connection trouble): a resync will catch it up.
          this.logger.warn(`refresh failed (${error instanceof Error ? error.message : String(error)}); resyncing`);
          return this.resync('refresh failure');
        });
      }
    } finally {
      this.flushing = undefined;
    }
  }

  async resync(reason: string): Promise<void> {
    if (this.stopping) return; // a refresh failing or LISTEN closing during shutdown: the pool is ending
    try {
      const changed = await this.replica.resync();
      if (changed > 0) this.logger.log(`resync (${reason}): applied ${changed} changed keys`);
    } catch (error) {
      this.logger.warn(`resync (${reason}) failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.resyncTimer);
    for (const off of this.unsubscribe) off();
    await this.notifications.onApplicationShutdown();
    await this.pool.end();
  }
}
