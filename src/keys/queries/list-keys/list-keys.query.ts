import { Query } from '@nestjs/cqrs';
import type { Actor } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';

export type KeyStatusFilter = 'active' | 'expired' | 'revoked' | 'all';

export interface KeyPage {
  items: KeyView[];
  nextCursor: string | null;
}

export class ListKeysQuery extends Query<KeyPage> {
  constructor(
    readonly actor: Actor,
    readonly filter: { tenantId?: string; status: KeyStatusFilter; limit: number; cursor?: string },
  ) {
    super();
  }
}
