import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { VersionMismatchError } from '../../../common/index.js';
import { KeyRepository } from '../../key-repository.js';
import { keyViewFromAggregate, type KeyView } from '../../key-view.js';
import { assertNoBreach, keyBreaches } from '../../policy/key-policy.js';
import { PolicyStore } from '../../policy/policy-store.js';
import { UpdateKeyCommand } from './update-key.command.js';

@CommandHandler(UpdateKeyCommand)
export class UpdateKeyHandler implements ICommandHandler<UpdateKeyCommand> {
  constructor(
    private readonly keys: KeyRepository,
    private readonly policies: PolicyStore,
  ) {}

  async execute({ id, input, ctx, expectedVersion }: UpdateKeyCommand): Promise<KeyView> {
    const key = await this.keys.loadToManage(id, ctx.actor);
    VersionMismatchError.assert('KEY.VERSION_MISMATCH', 'The key', expectedVersion, key.version);
    const now = new Date();
    const before = { scopes: key.scopes, expiresAt: key.expiresAt?.getTime() ?? null };
    if (key.update({ ...input, grantorScopes: ctx.actor.scopes ?? undefined }, now)) {
      // Only what the update changes is held to the policy: a key that broke a rule set after it
      // was stored can still be renamed (the violations report lists it).
      const policy = await this.policies.effective(key.tenantId);
      assertNoBreach(
        keyBreaches(policy, key, {
          expiry: (key.expiresAt?.getTime() ?? null) !== before.expiresAt,
          scopes: key.scopes.filter((scope) => !before.scopes.includes(scope)),
        }),
      );
      await this.keys.save(key, ctx);
    }
    return keyViewFromAggregate(key, now);
  }
}
