import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { KeyRepository } from '../../key-repository.js';
import { keyViewFromAggregate, type KeyView } from '../../key-view.js';
import { ExpireKeyCommand } from './expire-key.command.js';

@CommandHandler(ExpireKeyCommand)
export class ExpireKeyHandler implements ICommandHandler<ExpireKeyCommand> {
  constructor(private readonly keys: KeyRepository) {}

  async execute({ id, reason, ctx, reasonCode, evidence }: ExpireKeyCommand): Promise<KeyView> {
    const key = await this.keys.loadToManage(id, ctx.actor);
    const now = new Date();
    key.expire(reason, now, { reasonCode, evidence });
    await this.keys.save(key, ctx);
    return keyViewFromAggregate(key, now);
  }
}
