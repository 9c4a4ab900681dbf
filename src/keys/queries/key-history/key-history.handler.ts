import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { type CursorValues, decodeCursor, encodeCursor, isPosition } from '../../../common/index.js';
import { EventStore, type RecordedEvent } from '../../../event-store/index.js';
import { keyStreamId } from '@keyledger/nestjs/internal';
import { KeyRepository } from '../../key-repository.js';
import { KeyHistoryQuery, type KeyHistoryItem, type KeyHistoryPage } from './key-history.query.js';
import { actorKeyId, compareChainOrder, KeyTimeline, type TimelineEntry } from './key-timeline.js';

const isVersion = (v: CursorValues): v is [number] => v.length === 1 && isPosition(v[0]);

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function toItem(recorded: RecordedEvent, entry: TimelineEntry): KeyHistoryItem {
  const meta = recorded.metadata;
  return {
    type: recorded.type,
    version: recorded.streamVersion,
    position: recorded.position,
    occurredAt: typeof entry.occurredAt === 'string' ? entry.occurredAt : entry.occurredAt.toISOString(),
    recordedAt: recorded.recordedAt.toISOString(),
    actor: entry.actor.type === null && entry.actor.id === null ? null : entry.actor,
    requestId: str(meta.requestId),
    ip: str(meta.ip),
    userAgent: str(meta.userAgent),
    reason: entry.reason,
    reasonCode: entry.reasonCode,
    changes: entry.changes,
    // An event this code cannot read is shown as unknown (with why), never hidden or guessed at.
    ...(entry.unreadable ? { unknown: entry.unreadable } : {}),
  };
}

/**
 * A key's events, a page at a time by stream version. Each is described by the same KeyTimeline
 * as the audit log's rows, over the key's stream and the streams of the keys that acted on it
 * (for the acting key's name at the time), in the audit chain's order.
 */
@QueryHandler(KeyHistoryQuery)
export class KeyHistoryHandler implements IQueryHandler<KeyHistoryQuery> {
  constructor(
    private readonly keys: KeyRepository,
    private readonly store: EventStore,
  ) {}

  async execute({ actor, id, paging: { order, limit, cursor } }: KeyHistoryQuery): Promise<KeyHistoryPage> {
    const key = await this.keys.loadFor(id, actor);
    const stream = await this.store.readStream(keyStreamId(key.keyId));
    const after = cursor === undefined ? undefined : decodeCursor(cursor, 'events', order, isVersion)[0];
    const inOrder = order === 'asc' ? stream : [...stream].reverse();
    const rest =
      after === undefined ? inOrder : inOrder.filter((e) => (order === 'asc' ? e.streamVersion > after : e.streamVersion < after));
    const page = rest.slice(0, limit);

    const actors = new Set<string>();
    for (const e of page) {
      const actorKey = actorKeyId(e);
      if (actorKey !== null && actorKey !== key.keyId) actors.add(actorKey);
    }
    const wanted = new Set(page);
    const entries = new Map<RecordedEvent, TimelineEntry>();
    const timeline = new KeyTimeline();
    const others = await this.store.readStreams([...actors].map(keyStreamId));
    for (const e of [...stream, ...others].sort(compareChainOrder)) {
      const entry = timeline.apply(e);
      if (wanted.has(e)) entries.set(e, entry);
    }
    return {
      items: page.map((e) => toItem(e, entries.get(e)!)),
      nextCursor: rest.length > limit ? encodeCursor('events', order, [page[page.length - 1].streamVersion]) : null,
    };
  }
}
