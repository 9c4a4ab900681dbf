import { Query } from '@nestjs/cqrs';
import type { Order } from '../../../common/index.js';
import type { Actor } from '../../command-context.js';
import type { ReasonCode } from '../../domain/reason-code.js';
import type { ActorRef, Changes } from './key-timeline.js';

export interface KeyHistoryItem {
  type: string;
  version: number;
  position: number;
  occurredAt: string;
  recordedAt: string;
  actor: ActorRef | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  /** Why the key was expired (`ttl`, `manual`) or revoked; null for other events. */
  reason: string | null;
  /** The expiry's or revocation's code (`other` for events written before codes); null for other events. */
  reasonCode: ReasonCode | null;
  /** What the event changed, `{field: {from, to}}` as in the audit log; secret hashes are never included. */
  changes: Changes;
  /** Only on a stored event this version cannot read (unknown type or schema version): why. */
  unknown?: { schemaVersion: number; problem: string };
}

export interface KeyHistoryPage {
  items: KeyHistoryItem[];
  nextCursor: string | null;
}

export interface KeyHistoryPaging {
  order: Order;
  limit: number;
  cursor?: string;
}

export class KeyHistoryQuery extends Query<KeyHistoryPage> {
  constructor(
    readonly actor: Actor,
    readonly id: string,
    /** Every event, oldest first, unless told otherwise (the CLI shows the whole history). */
    readonly paging: KeyHistoryPaging = { order: 'asc', limit: Number.MAX_SAFE_INTEGER },
  ) {
    super();
  }
}
