import { Query } from '@nestjs/cqrs';
import type { Actor } from '../../command-context.js';
import type { UsageDay } from './usage-days.js';

export interface KeyUsage {
  keyId: string;
  days: number;
  items: UsageDay[];
}

/** One key's verifications per UTC day and outcome, the last `days` days (today included). */
export class KeyUsageQuery extends Query<KeyUsage> {
  constructor(
    readonly actor: Actor,
    readonly id: string,
    readonly days: number,
  ) {
    super();
  }
}
