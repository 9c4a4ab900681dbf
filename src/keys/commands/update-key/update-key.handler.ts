import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DomainError } from '../../../common/index.js';
import { KeyRepository } from '../../key-repository.js';
import { keyViewFromAggregate, type KeyView } from '../../key-view.js';
import { UpdateKeyCommand } from './update-key.command.js';

export class VersionMismatchError extends DomainError {
  static create(expected: number, actual: number): VersionMismatchError {
    return new VersionMismatchError(
      'precondition-failed',
      'KEY.VERSION_MISMATCH',
      `The key changed since you read it: If-Match was version ${expected}, it is now at version ${actual}. Reload it and retry.`,
    );
  }
}

@CommandHandler(UpdateKeyCommand)
export class UpdateKeyHandler implements ICommandHandler<UpdateKeyCommand> {
  constructor(private readonly keys: KeyRepository) {}

  async execute({ id, input, ctx, expectedVersion }: UpdateKeyCommand): Promise<KeyView> {
    const key = await this.keys.loadToManage(id, ctx.actor);
    if (expectedVersion !== undefined && expectedVersion !== key.version) {
      throw VersionMismatchError.create(expectedVersion, key.version);
    }
    const now = new Date();
    if (key.update({ ...input, grantorScopes: ctx.actor.scopes ?? undefined }, now)) await this.keys.save(key, ctx);
    return keyViewFromAggregate(key, now);
  }
}
