import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { KEY_PEPPER } from '@keyledger/nestjs';
import { KeyRepository } from '../../key-repository.js';
import { keyViewFromAggregate } from '../../key-view.js';
import { RotateKeyCommand, type RotatedKey } from './rotate-key.command.js';

@CommandHandler(RotateKeyCommand)
export class RotateKeyHandler implements ICommandHandler<RotateKeyCommand> {
  constructor(
    private readonly keys: KeyRepository,
    @Inject(KEY_PEPPER) private readonly pepper: Buffer,
  ) {}

  async execute({ id, input, ctx }: RotateKeyCommand): Promise<RotatedKey> {
    const key = await this.keys.loadToManage(id, ctx.actor);
    const now = new Date();
    const { token } = key.rotate(input, now, this.pepper);
    await this.keys.save(key, ctx);
    return { view: keyViewFromAggregate(key, now), token };
  }
}
