import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { EventStore, type RecordedEvent } from '../../../event-store/index.js';
import type { KeyEvent } from '../../domain/key-events.js';
import { keyStreamId } from '@keyledger/nestjs';
import { KeyRepository, occurredAt, toKeyEvent } from '../../key-repository.js';
import { KeyHistoryQuery, type KeyHistoryItem } from './key-history.query.js';

/** The event's facts minus anything secret-derived. */
export function redactedChanges(event: KeyEvent): Record<string, unknown> {
  switch (event.type) {
    case 'key.created': {
      const { secretHash: _hash, occurredAt: _at, ...rest } = event.payload;
      return rest;
    }
    case 'key.rotated':
      return { graceEndsAt: event.payload.graceEndsAt, expiresAt: event.payload.expiresAt };
    case 'key.expired':
    case 'key.revoked':
      return { reason: event.payload.reason };
    case 'key.updated':
      return { ...event.payload.changes };
  }
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function toItem(recorded: RecordedEvent): KeyHistoryItem {
  const event = toKeyEvent(recorded);
  const meta = recorded.metadata;
  const actor = meta.actor as { type: string; id: string } | undefined;
  return {
    type: recorded.type,
    version: recorded.streamVersion,
    position: recorded.position,
    occurredAt: occurredAt(event, recorded),
    recordedAt: recorded.recordedAt.toISOString(),
    actor: actor ? { type: actor.type, id: actor.id } : null,
    requestId: str(meta.requestId),
    ip: str(meta.ip),
    userAgent: str(meta.userAgent),
    // An event this code cannot read is shown as unknown (with why), never hidden or guessed at.
    ...(event.type === 'unreadable'
      ? { changes: {}, unknown: { schemaVersion: event.schemaVersion, problem: event.problem } }
      : { changes: redactedChanges(event) }),
  };
}

@QueryHandler(KeyHistoryQuery)
export class KeyHistoryHandler implements IQueryHandler<KeyHistoryQuery> {
  constructor(
    private readonly keys: KeyRepository,
    private readonly store: EventStore,
  ) {}

  async execute({ actor, id }: KeyHistoryQuery): Promise<{ items: KeyHistoryItem[] }> {
    const key = await this.keys.loadFor(id, actor);
    const events = await this.store.readStream(keyStreamId(key.keyId));
    return { items: events.map(toItem) };
  }
}
