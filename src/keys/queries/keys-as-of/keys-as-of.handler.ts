import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { decodeCursor, encodeCursor, ValidationError } from '../../../common/index.js';
import { PG_POOL } from '../../../database/index.js';
import { EventStore, type RecordedEvent } from '../../../event-store/index.js';
import { ApiKey } from '../../domain/api-key.aggregate.js';
import { KeyNotFoundError } from '../../domain/api-key.errors.js';
import { keyStreamId } from '@keyledger/nestjs/internal';
import { KeyRepository, occurredAt, toKeyEvent, UUID } from '../../key-repository.js';
import { keyViewFromAggregate, type KeyView } from '../../key-view.js';
import { assertCanAccessKey, readableTenant } from '../../tenant-access.js';
import type { KeyPage } from '../list-keys/list-keys.query.js';
import { KeyAsOfQuery, KeysActiveAtQuery } from './keys-as-of.query.js';

/**
 * IsISO8601 also accepts forms Date cannot read (week dates `2026-W05`, ordinal `2026-032`, basic
 * `20260101T000000Z`): they arrive here as an Invalid Date and used to end in a 500.
 */
export function assertInstant(field: 'activeAt' | 'asOf', at: Date): void {
  if (Number.isNaN(at.getTime())) throw ValidationError.field(field, 'must be an ISO 8601 date or date-time such as 2026-06-01T12:00:00Z');
}

/** The key as its events up to `at` (by the time each event occurred) make it; undefined before it existed. */
export function replayUntil(events: readonly RecordedEvent[], at: Date): ApiKey | undefined {
  const upTo = events
    .map((recorded) => ({ recorded, event: toKeyEvent(recorded) }))
    .filter(({ recorded, event }) => Date.parse(occurredAt(event, recorded)) <= at.getTime())
    .map(({ event }) => event);
  return upTo.length > 0 ? ApiKey.fromEvents(upTo) : undefined;
}

@QueryHandler(KeysActiveAtQuery)
export class KeysActiveAtHandler implements IQueryHandler<KeysActiveAtQuery> {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly store: EventStore,
  ) {}

  /** Pages walk key ids (created by `at`); a page may hold fewer valid keys than `limit`. */
  async execute({ actor, at, filter }: KeysActiveAtQuery): Promise<KeyPage> {
    assertInstant('activeAt', at);
    const params: unknown[] = [at];
    const where = ['created_at <= $1'];
    const tenantId = readableTenant(actor, filter.tenantId);
    if (tenantId !== undefined) {
      params.push(tenantId);
      where.push(`tenant_id = $${params.length}`);
    }
    if (filter.cursor !== undefined) {
      const [keyId] = decodeCursor(
        filter.cursor,
        'keys-active-at',
        'asc',
        (v): v is [string] => v.length === 1 && typeof v[0] === 'string' && UUID.test(v[0]),
      );
      params.push(keyId);
      where.push(`key_id > $${params.length}::uuid`);
    }
    params.push(filter.limit + 1);
    const { rows } = await this.pool.query<{ key_id: string }>(
      `SELECT key_id FROM api_keys WHERE ${where.join(' AND ')} ORDER BY key_id LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, filter.limit).map((r) => r.key_id);
    const byStream = new Map<string, RecordedEvent[]>();
    for (const e of await this.store.readStreams(page.map(keyStreamId))) {
      const list = byStream.get(e.streamId) ?? [];
      list.push(e);
      byStream.set(e.streamId, list);
    }
    const items: KeyView[] = [];
    for (const keyId of page) {
      const key = replayUntil(byStream.get(keyStreamId(keyId)) ?? [], at);
      if (key?.statusAt(at) === 'active') items.push(keyViewFromAggregate(key, at));
    }
    return { items, nextCursor: rows.length > filter.limit ? encodeCursor('keys-active-at', 'asc', [page[page.length - 1]]) : null };
  }
}

@QueryHandler(KeyAsOfQuery)
export class KeyAsOfHandler implements IQueryHandler<KeyAsOfQuery> {
  constructor(
    private readonly keys: KeyRepository,
    private readonly store: EventStore,
  ) {}

  async execute({ actor, id, at }: KeyAsOfQuery): Promise<KeyView> {
    assertInstant('asOf', at);
    const current = await this.keys.loadFor(id, actor);
    assertCanAccessKey(actor, current, id);
    const key = replayUntil(await this.store.readStream(keyStreamId(current.keyId)), at);
    if (!key) throw KeyNotFoundError.notYetCreated(id, at);
    return keyViewFromAggregate(key, at);
  }
}
