import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import { createPool } from './create-pool.js';
import { RetryBackoff } from './retry-backoff.js';
import { EventNotifications, type EventNotification } from './event-notifications.js';
import { hasScopes } from './scopes.js';
import { tokenPublicId } from './token.js';
import { keyIdOfStream } from './key-stream.js';
import type { VerificationResult } from './api-key-principal.js';
import { API_KEY_AUTH_OPTIONS, KEY_PEPPER, type ApiKeyAuthOptions } from './api-key-auth.options.js';
import type { ReplicaRow } from './api-keys-columns.js';
import { KeyReplica } from './key-replica.js';
import { assertRegistryPepper } from './pepper-fingerprint.js';
import { EXPIRED, INSUFFICIENT_SCOPE, REVOKED, UsageRecorder, VALID, type Outcome } from './usage-recorder.js';

/** The negative cache is dropped whole past this many publicIds (a flood of random ones), never grown without bound. */
const MAX_REMEMBERED_MISSES = 10_000;
const UNAVAILABLE = Object.freeze({ code: 'UNAVAILABLE' as const });
const ignore = (): void => undefined;
/** The verification answers that name a key, as the usage they count as; the others are no key's use. */
function usageOutcome(code: VerificationResult['code']): Outcome | undefined {
  switch (code) {
    case 'VALID':
      return VALID;
    case 'INSUFFICIENT_SCOPE':
      return INSUFFICIENT_SCOPE;
    case 'EXPIRED':
      return EXPIRED;
    case 'REVOKED':
      return REVOKED;
    case 'MALFORMED':
    case 'NOT_FOUND':
    case 'UNAVAILABLE':
      return undefined;
  }
}

/** The caller of a verification, as `check()` and `verify()` record it with the key's last use. */
export interface RequestClient {
  readonly ip?: string;
  readonly userAgent?: string;
}

/** At most `perSecond` takes a second, in bursts of up to `perSecond`. */
class TokenBucket {
  private tokens: number;
  private refilledAt = Date.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

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
  private retryTimer: NodeJS.Timeout | undefined;
  /** Failed refreshes and resyncs: logged once per outage, a failed resync retried with backoff. */
  private readonly sync = new RetryBackoff(this.logger, 'replica resync');
  private stopping = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly lookupBudget: TokenBucket;
  /** One lookup per publicId at a time: concurrent requests with the same key share it. */
  private readonly lookups = new Map<string, Promise<void>>();
  /**
   * token → until when a lookup that found nothing newer is not repeated for that exact token. By
   * token, not publicId: a secret rotated again a moment later is a new token and is looked up.
   */
  private readonly misses = new Map<string, number>();
  private lookupsMade = 0;
  /** Resyncs in flight (a reconnect's may overlap a periodic one; periodic ones never overlap). */
  private resyncsRunning = 0;
  /** Misses past the lookup budget, waiting for the next applied notification (see untilNotified). */
  private readonly refreshWaiters = new Set<() => void>();
  /** Failed lookups: the refusal stands, as it would without the lookup; logged once per outage. */
  private readonly lookupTrouble = new RetryBackoff(this.logger, 'replica lookup');
  /** Since when the replica may have missed a change (its LISTEN connection dropped); undefined while fresh. */
  private staleSince: number | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  /** Stale past maxStalenessMs with onStale 'fail': every verification answers UNAVAILABLE. */
  private failingClosed = false;
  /** Counts LISTEN (re)connections: only a resync begun on the current one makes the replica fresh. */
  private listenEpoch = 0;
  /** The options' callbacks, or no-ops: the hot path calls one without a check. */
  private readonly recordVerification: NonNullable<ApiKeyAuthOptions['onVerification']>;
  private readonly recordLookup: NonNullable<ApiKeyAuthOptions['onLookup']>;
  /** Each verification's use of a known key, flushed every usageFlushMs; undefined with recordUsage false. */
  readonly usage: UsageRecorder | undefined;
  private usageTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(API_KEY_AUTH_OPTIONS) private readonly options: ApiKeyAuthOptions,
    @Inject(KEY_PEPPER) private readonly pepper: Buffer | undefined,
  ) {
    this.pool = createPool({ connectionString: options.databaseUrl, max: 3, application_name: 'keyledger-verifier' }, this.logger);
    this.notifications = new EventNotifications(options.databaseUrl);
    this.recordVerification = options.onVerification ?? ignore;
    this.recordLookup = options.onLookup ?? ignore;
    this.replica = new KeyReplica(this.pool, pepper, options.tombstoneDays ?? 30, options.digester);
    this.lookupBudget = new TokenBucket(options.lookupsPerSecond ?? 50);
    this.usage = options.recordUsage === false ? undefined : new UsageRecorder(this.pool, new Logger('KeyUsage'));
  }

  async onModuleInit(): Promise<void> {
    // Another pepper than the registry's would refuse every key with 401: refuse to start instead.
    await assertRegistryPepper(this.pool, this.pepper);
    // Listen first, then load: a change committed during the load is either in the loaded rows or
    // notified, and versions make applying it twice (or out of order) harmless.
    this.unsubscribe.push(
      this.notifications.onEvent((n) => this.onNotification(n)),
      this.notifications.onReconnect(() => {
        this.listenEpoch++;
        void this.resync('LISTEN reconnect');
      }),
      this.notifications.onDisconnect(() => this.markStale()),
    );
    await this.notifications.onModuleInit();
    const started = Date.now();
    const loaded = await this.replica.load(5000, (n) => {
      if (n % 100_000 === 0) this.logger.log(`loading keys: ${n} so far`);
    });
    this.logger.log(`loaded ${loaded} keys into memory in ${Date.now() - started} ms`);
    const interval = this.options.resyncIntervalMs ?? 30_000;
    // A periodic resync is a safety net: skipped while any resync still runs (a slow one would
    // otherwise overlap the next and read the same rows twice).
    this.resyncTimer = setInterval(() => {
      if (this.resyncsRunning === 0) void this.resync('periodic');
    }, interval);
    this.resyncTimer.unref();
    const usage = this.usage;
    if (usage !== undefined) {
      // A failed flush is logged (once per outage) by the recorder and kept for the next one.
      this.usageTimer = setInterval(() => void usage.flush().catch(ignore), this.options.usageFlushMs ?? 10_000);
      this.usageTimer.unref();
    }
  }

  /**
   * Verifies a key and, when given, that it holds every required scope and belongs to `tenantId`
   * (another tenant's key answers exactly as an unknown one), from memory only (no lookup).
   * `client` as for check().
   */
  verify(token: string, requiredScopes?: readonly string[], tenantId?: string, client?: () => RequestClient): VerificationResult {
    return this.run(token, requiredScopes, tenantId, false, client) as VerificationResult; // no lookup: never a promise
  }

  /**
   * What the guard and the verify API use: verify() from memory, and only when that refuses a
   * well-formed key it does not know (NOT_FOUND with a valid checksum), one database lookup of its
   * publicId before the refusal stands. That turns a refusal into an acceptance only where the
   * committed row backs it (a key created or rotated on another instance a moment ago, whose
   * NOTIFY has not arrived yet); a revoked or expired key is refused from memory as before, never
   * later. Lookups are one per publicId at a time, at most `lookupsPerSecond`, and a miss is
   * remembered, per token, for `lookupNegativeCacheMs`. Returns a promise only on that path.
   *
   * `client` gives the caller's IP and user agent, recorded with the key's last use. It is called
   * at most once, and only when the token proved to be a known key's (not for a malformed or
   * unknown token, nor with `recordUsage: false`): reading them costs more than refusing a made-up key.
   */
  check(
    token: string,
    requiredScopes?: readonly string[],
    tenantId?: string,
    client?: () => RequestClient,
  ): VerificationResult | Promise<VerificationResult> {
    return this.run(token, requiredScopes, tenantId, true, client);
  }

  private run(
    token: string,
    requiredScopes: readonly string[] | undefined,
    tenantId: string | undefined,
    lookUp: boolean,
    client: (() => RequestClient) | undefined,
  ): VerificationResult | Promise<VerificationResult> {
    if (this.failingClosed) {
      this.recordVerification('UNAVAILABLE');
      return UNAVAILABLE;
    }
    const timed = (++this.verifications & 127) === 0; // the clock and the histogram cost more than the check
    const started = timed ? performance.now() : 0;
    const now = Date.now();
    const first = this.evaluate(token, requiredScopes, tenantId, now);
    const lookup = lookUp && first.code === 'NOT_FOUND' ? this.lookupMiss(token) : undefined;
    if (lookup === undefined) {
      this.recordVerification(first.code, timed ? (performance.now() - started) / 1000 : undefined);
      this.recordUse(first, now, client);
      return first;
    }
    return lookup.then(() => {
      const at = Date.now();
      const result = this.evaluate(token, requiredScopes, tenantId, at);
      this.recordVerification(result.code);
      this.recordUse(result, at, client);
      return result;
    });
  }

  /** Counts the verification against its key: only where the token proved to be that key's (the key verify() matched). */
  private recordUse(result: VerificationResult, at: number, client: (() => RequestClient) | undefined): void {
    const usage = this.usage;
    if (usage === undefined) return;
    const outcome = usageOutcome(result.code);
    if (outcome === undefined) return;
    const key = this.replica.matched;
    if (key === undefined) return;
    // A caller still passing an IP string (the signature before 0.2) records no client rather than failing the request.
    const from = typeof client === 'function' ? client() : undefined;
    usage.record(key, outcome, at, from?.ip, from?.userAgent);
  }

  /**
   * A change this instance has just committed, applied before the command answers: a new or
   * rotated key works here when the response arrives, a revoked or expired one is refused.
   * Versions keep it harmless when the NOTIFY of the same change arrives too.
   */
  applyCommitted(row: ReplicaRow): void {
    this.replica.apply(row);
  }

  private evaluate(
    token: string,
    requiredScopes: readonly string[] | undefined,
    tenantId: string | undefined,
    now: number,
  ): VerificationResult {
    const result = this.replica.verify(token, now, tenantId);
    if (result.code === 'VALID' && requiredScopes !== undefined && !hasScopes(result.principal.scopes, requiredScopes)) {
      return { code: 'INSUFFICIENT_SCOPE', principal: result.principal };
    }
    return result;
  }

  private lookupMiss(token: string): Promise<void> | undefined {
    const publicId = tokenPublicId(token);
    if (publicId === undefined) return undefined;
    const running = this.lookups.get(publicId);
    if (running !== undefined) return running;
    const now = Date.now();
    if ((this.misses.get(token) ?? 0) > now) return undefined;
    if (!this.lookupBudget.take(now)) return this.untilNotified(publicId);
    this.lookupsMade += 1;
    const lookup = this.replica
      .lookup(publicId)
      .then(
        (found) => {
          this.recordLookup(found ? 'found' : 'not-found');
          if (!found) {
            if (this.misses.size >= MAX_REMEMBERED_MISSES) this.misses.clear();
            this.misses.set(token, Date.now() + (this.options.lookupNegativeCacheMs ?? 1000));
          }
          this.lookupTrouble.succeeded();
        },
        (error: unknown) => {
          this.recordLookup('failed');
          this.lookupTrouble.failed(error);
        },
      )
      .finally(() => this.lookups.delete(publicId));
    this.lookups.set(publicId, lookup);
    return lookup;
  }

  status(): {
    keys: number;
    lastSyncAt: string | null;
    listening: boolean;
    reconnects: number;
    lookups: number;
    /** How long the replica has been stale (its LISTEN connection down, no resync since); 0 while fresh. */
    staleForMs: number;
    /** Past maxStalenessMs with onStale 'fail': every key is refused with 503. */
    failingClosed: boolean;
  } {
    const { connected, reconnects } = this.notifications.status();
    return {
      keys: this.replica.size,
      lastSyncAt: this.replica.status().lastSyncAt,
      listening: connected,
      reconnects,
      lookups: this.lookupsMade,
      staleForMs: this.staleSince === undefined ? 0 : Date.now() - this.staleSince,
      failingClosed: this.failingClosed,
    };
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
    const keyId = keyIdOfStream(n.streamId);
    if (keyId === undefined) return;
    this.pending.add(keyId);
    if (!this.flushing) this.flushing = this.flush();
  }

  /**
   * Past the lookup budget (a burst of new keys, or a flood of made-up ones), a miss waits at most
   * `notifyWaitMs` for the key's notification to be applied instead of asking the database: a key
   * created a moment ago elsewhere is usually a few milliseconds from arriving. No query is made.
   */
  private async untilNotified(publicId: string): Promise<void> {
    const held = this.replica.versionOf(publicId);
    const deadline = Date.now() + (this.options.notifyWaitMs ?? 50);
    while (this.replica.versionOf(publicId) === held && !this.stopping) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.refreshWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.refreshWaiters.add(done);
      });
    }
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const keyIds = [...this.pending];
        this.pending = new Set();
        await this.replica.refresh(keyIds).catch((error: unknown) => {
          // The row read failed (connection trouble): a resync will catch it up.
          this.sync.failed(error);
          return this.resync('refresh failure');
        });
        for (const wake of [...this.refreshWaiters]) wake();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  async resync(reason: string): Promise<void> {
    if (this.stopping) return; // a refresh failing or LISTEN closing during shutdown: the pool is ending
    this.resyncsRunning++;
    try {
      await this.resyncOnce(reason);
    } finally {
      this.resyncsRunning--;
    }
  }

  private async resyncOnce(reason: string): Promise<void> {
    // Fresh again only if LISTEN was up before this resync read: every later change is notified.
    const epoch = this.notifications.status().connected ? this.listenEpoch : -1;
    const startedAt = Date.now();
    try {
      const changed = await this.replica.resync();
      this.sync.succeeded();
      if (epoch === this.listenEpoch && this.notifications.status().connected) this.markFresh();
      else if (this.staleSince !== undefined) this.staleFrom(startedAt); // in step as of this read, blind again after it
      if (changed > 0) this.logger.log(`resync (${reason}): applied ${changed} changed keys`);
    } catch (error) {
      // Changes committed meanwhile are unknown here until a resync succeeds: retry soon, not at the next period.
      const delay = this.sync.failed(error);
      if (this.retryTimer === undefined && !this.stopping) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.resync('retry');
        }, delay);
        this.retryTimer.unref();
      }
    }
  }

  /**
   * The LISTEN connection dropped: changes committed from now on reach this replica only after a
   * reconnect's resync. Past maxStalenessMs the guard fails closed, unless onStale is 'serve'.
   */
  private markStale(): void {
    if (this.staleSince === undefined && !this.stopping) this.staleFrom(Date.now());
  }

  /**
   * The replica is known to be in step as of `at` and blind after it (a resync that succeeded while
   * LISTEN is still down moves `at` forward). Fails closed at `at` + maxStalenessMs.
   */
  private staleFrom(at: number): void {
    this.staleSince = at;
    clearTimeout(this.staleTimer);
    if (this.failingClosed) this.logger.log('a resync caught the key replica up while LISTEN is still down: verifying keys');
    this.failingClosed = false;
    if ((this.options.onStale ?? 'fail') === 'serve') return;
    const bound = this.options.maxStalenessMs ?? 30_000;
    this.staleTimer = setTimeout(
      () => {
        this.failingClosed = true;
        this.logger.error(
          `the key replica has been cut off from the registry for ${bound} ms: refusing every key with 503 until it resyncs (onStale: 'fail')`,
        );
      },
      Math.max(0, at + bound - Date.now()),
    );
    this.staleTimer.unref();
  }

  private markFresh(): void {
    if (this.staleSince === undefined) return;
    clearTimeout(this.staleTimer);
    if (this.failingClosed) {
      this.logger.log(`the key replica is in step with the registry again after ${Date.now() - this.staleSince} ms: verifying keys`);
    }
    this.staleSince = undefined;
    this.failingClosed = false;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.staleTimer);
    clearInterval(this.resyncTimer);
    clearInterval(this.usageTimer);
    clearTimeout(this.retryTimer);
    for (const off of this.unsubscribe) off();
    // The uses since the last flush: a failure is logged by the recorder, and shutdown goes on.
    await this.usage?.flush().catch(ignore);
    await this.notifications.onApplicationShutdown();
    await this.pool.end();
  }
}
