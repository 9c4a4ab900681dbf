import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { KeyRepository } from '../../key-repository.js';
import { keyViewFromAggregate, type KeyView } from '../../key-view.js';
import { RevokeKeyCommand } from './revoke-key.command.js';

@CommandHandler(RevokeKeyCommand)
export class RevokeKeyHandler implements ICommandHandler<RevokeKeyCommand> {
  constructor(private readonly keys: KeyRepository) {}

  async execute({ id, reason, ctx, details }: RevokeKeyCommand): Promise<KeyView> {
    const key = await this.keys.loadToManage(id, ctx.actor);
    const now = new Date();
    key.revoke(reason, now, details);
    await this.keys.save(key, ctx);
    return keyViewFromAggregate(key, now);
  }
}
