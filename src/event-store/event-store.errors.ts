import { DomainError } from '../common/index.js';
import type { ExpectedVersion } from './event-store.types.js';

export class ConcurrencyError extends DomainError {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(
      'conflict',
      'STREAM.CONCURRENCY',
      `Stream ${streamId} was changed concurrently: expected version ${String(expected)}, but it is at version ${actual}. Reload it and retry.`,
    );
  }
}

/** A client-supplied event id already belongs to another stream or another batch. */
export class EventIdConflictError extends DomainError {
  constructor(readonly eventIds: string[]) {
    super('conflict', 'STREAM.EVENT_ID_CONFLICT', `Event id(s) ${eventIds.join(', ')} were already used for different events.`);
  }
}
