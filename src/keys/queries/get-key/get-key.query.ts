import { Query } from '@nestjs/cqrs';
import type { Actor } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';

export class GetKeyQuery extends Query<KeyView> {
  constructor(
    readonly actor: Actor,
    readonly id: string,
  ) {
    super();
  }
}
