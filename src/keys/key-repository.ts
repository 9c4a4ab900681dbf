import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Pool } from 'pg';
import { KeyVerifier } from '@keyledger/nestjs';
import { keyStreamId, replicaRowOf } from '@keyledger/nestjs/internal';
import { PG_POOL } from '../database/index.js';
import { EventStore, type AppendResult, type RecordedEvent } from '../event-store/index.js';
import { eventMetadata, type Actor, type CommandContext } from './command-context.js';
import { assertCanAccessKey, assertCanManageKey } from './tenant-access.js';
import { ApiKey } from './domain/api-key.aggregate.js';
import { KeyNotFoundError } from './domain/api-key.errors.js';
import { readKeyEvent, serializeKeyEvent, type StoredKeyEvent } from './domain/key-events.js';
import { keyIdOfPublicId } from './queries/key-cards/key-cards.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PUBLIC_ID = /^[0-9A-Za-z]{12}$/;

export function toKeyEvent(event: RecordedEvent): StoredKeyEvent {
  return readKeyEvent(event.type, event.schemaVersion, event.payload);
}

/** When an event happened: its payload says so; an unreadable one has only its commit time. */
export function occurredAt(event: StoredKeyEvent, recorded: RecordedEvent): string {
  return event.type === 'unreadable' ? recorded.recordedAt.toISOString() : event.payload.occurredAt;
}

export interface KeySecrets {
  keyId: string;
  tenantId: string;
  /** The current secret's hash, then the previous one's where kept. */
  secretHashes: Buffer[];
}

/** Loads keys from their event streams and appends what a command recorded. */
@Injectable()
export class KeyRepository {
  private readonly logger = new Logger(KeyRepository.name);

  constructor(
    private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
    /** This instance's guard replica, where there is one (the server; not the CLI). */
    @Optional() private readonly verifier?: KeyVerifier,
  ) {}

  /** `:id` in the API is a keyId or a publicId; anything else is simply not found. */
  async resolveKeyId(id: string): Promise<string> {
    if (UUID.test(id)) return id.toLowerCase();
    if (PUBLIC_ID.test(id)) {
      const keyId = await keyIdOfPublicId(this.pool, id);
      if (keyId !== undefined) return keyId;
    }
    throw KeyNotFoundError.withId(id);
  }

  /**
   * The secret hashes of the key with this publicId (the previous one only while the row keeps it),
   * for checking a reported token; one indexed read, whether the key exists or not.
   */
  async secretsOf(publicId: string): Promise<KeySecrets | undefined> {
    const { rows } = await this.pool.query<{ key_id: string; tenant_id: string; secret_hash: Buffer; previous_secret_hash: Buffer | null }>(
      'SELECT key_id, tenant_id, secret_hash, previous_secret_hash FROM api_keys WHERE public_id = $1',
      [publicId],
    );
    const row = rows[0];
    return (
      row && {
        keyId: row.key_id,
        tenantId: row.tenant_id,
        secretHashes: row.previous_secret_hash ? [row.secret_hash, row.previous_secret_hash] : [row.secret_hash],
      }
    );
  }

  async load(id: string): Promise<ApiKey> {
    const keyId = await this.resolveKeyId(id);
    const events = await this.store.readStream(keyStreamId(keyId));
    if (events.length === 0) throw KeyNotFoundError.withId(id);
    const key = ApiKey.fromEvents(events.map(toKeyEvent));
    for (const { version, event } of key.unreadableEvents) {
      this.logger.warn(
        `key ${keyId} has an unreadable event at stream version ${version}: ${event.problem}; it may be revoked or expired, not changed`,
      );
    }
    return key;
  }

  /** Loads a key the actor may act on; another tenant's key is reported as not found. */
  async loadFor(id: string, actor: Actor): Promise<ApiKey> {
    const key = await this.load(id);
    assertCanAccessKey(actor, key, id);
    return key;
  }

  /**
   * Loads a key for a command: another tenant's key is not found (404), and a key holding a scope
   * the actor could not grant is beyond its authority (403), before any rule of the key is checked.
   */
  async loadToManage(id: string, actor: Actor): Promise<ApiKey> {
    const key = await this.loadFor(id, actor);
    assertCanManageKey(actor, key);
    return key;
  }

  /**
   * Appends the key's pending events, expecting the stream at the version the key was loaded at,
   * so a concurrent command on the same key fails with a ConcurrencyError (409).
   */
  async save(key: ApiKey, ctx: CommandContext, eventId?: string): Promise<AppendResult> {
    const pending = key.pullPendingEvents();
    const loadedAt = key.version - pending.length;
    const result = await this.store.append(
      keyStreamId(key.keyId),
      loadedAt === 0 ? 'no-stream' : loadedAt,
      pending.map((event, i) => ({ ...serializeKeyEvent(event), ...(i === 0 && eventId ? { eventId } : {}) })),
      eventMetadata(ctx),
      // Anything that takes access away reaches every guard at commit, even if this process dies
      // right after; a new key may follow a moment later (or at the next resync).
      { notify: pending.some((e) => e.type !== 'key.created') ? 'in-transaction' : 'after-commit' },
    );
    // Committed: this instance's guard applies it before the command answers (other instances
    // hear of it by NOTIFY, or look a key they do not know up at its first request).
    if (!result.idempotent) this.verifier?.applyCommitted(replicaRowOf(key));
    return result;
  }
}
