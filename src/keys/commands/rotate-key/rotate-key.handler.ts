import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { KEY_PEPPER } from '@keyledger/nestjs';
import { KeyRepository } from '../../key-repository.js';
import { keyViewFromAggregate } from '../../key-view.js';
import { assertNoBreach, gracePeriodBreaches, keyBreaches } from '../../policy/key-policy.js';
import { PolicyStore } from '../../policy/policy-store.js';
import { RotateKeyCommand, type RotatedKey } from './rotate-key.command.js';

@CommandHandler(RotateKeyCommand)
export class RotateKeyHandler implements ICommandHandler<RotateKeyCommand> {
  constructor(
    private readonly keys: KeyRepository,
    private readonly policies: PolicyStore,
    @Inject(KEY_PEPPER) private readonly pepper: Buffer,
  ) {}

  async execute({ id, input, ctx }: RotateKeyCommand): Promise<RotatedKey> {
    const key = await this.keys.loadToManage(id, ctx.actor);
    const now = new Date();
    const { token } = key.rotate(input, now, this.pepper);
    // A rotation issues a new secret: the key as rotated (its expiry, its scopes) meets the policy.
    const policy = await this.policies.effective(key.tenantId);
    assertNoBreach([
      ...gracePeriodBreaches(policy, input.gracePeriodSeconds ?? 0),
      ...keyBreaches(policy, { scopes: key.scopes, expiresAt: key.expiresAt, secretIssuedAt: now }),
    ]);
    await this.keys.save(key, ctx);
    return { view: keyViewFromAggregate(key, now), token };
  }
}
