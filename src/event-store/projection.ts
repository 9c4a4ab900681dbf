import type { PoolClient } from 'pg';
import type { RecordedEvent } from './event-store.types.js';

/**
 * A read model fed by events. Inline projections run inside the append's transaction; async ones
 * in a ProjectionRunner that commits rows and checkpoint together. `reset` empties the read model
 * before a rebuild. `apply` must be a pure function of the events (and the rows it wrote before),
 * so a rebuild reproduces the live rows exactly.
 */
export interface Projection {
  readonly name: string;
  apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void>;
  reset(client: PoolClient): Promise<void>;
}
