import { Query } from '@nestjs/cqrs';
import type { Actor } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';
import type { KeyPage } from '../list-keys/list-keys.query.js';

/** The keys that were valid at `at`, replayed from their events (exact to the event). */
export class KeysActiveAtQuery extends Query<KeyPage> {
  constructor(
    readonly actor: Actor,
    readonly at: Date,
    readonly filter: { tenantId?: string; limit: number; cursor?: string },
  ) {
    super();
  }
}

/** One key as it was at `at`. */
export class KeyAsOfQuery extends Query<KeyView> {
  constructor(
    readonly actor: Actor,
    readonly id: string,
    readonly at: Date,
  ) {
    super();
  }
}
