import { Query } from '@nestjs/cqrs';
import type { Actor } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';

export type KeyStatusFilter = 'active' | 'expired' | 'revoked' | 'all';
/** Newest first by creation (the default) or by last use (never-used keys last). */
export const KEY_SORTS = ['createdAt', 'lastUsedAt'] as const;
export type KeySort = (typeof KEY_SORTS)[number];

export interface KeyPage {
  items: KeyView[];
  nextCursor: string | null;
}

export class ListKeysQuery extends Query<KeyPage> {
  constructor(
    readonly actor: Actor,
    readonly filter: { tenantId?: string; status: KeyStatusFilter; limit: number; cursor?: string; sort: KeySort; unusedSince?: Date },
  ) {
    super();
  }
}
