import { Query } from '@nestjs/cqrs';
import type { Actor } from '../../command-context.js';

export interface KeyHistoryItem {
  type: string;
  version: number;
  position: number;
  occurredAt: string;
  recordedAt: string;
  actor: { type: string; id: string } | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  /** What the event changed; secret hashes are never included. */
  changes: Record<string, unknown>;
  /** Only on a stored event this version cannot read (unknown type or schema version): why. */
  unknown?: { schemaVersion: number; problem: string };
}

export class KeyHistoryQuery extends Query<{ items: KeyHistoryItem[] }> {
  constructor(
    readonly actor: Actor,
    readonly id: string,
  ) {
    super();
  }
}
