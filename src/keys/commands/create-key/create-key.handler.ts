import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { createHash, randomUUID } from 'node:crypto';
import { KEY_PEPPER } from '@keyledger/nestjs';
import { DomainError } from '../../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../../config/index.js';
import { ApiKey } from '../../domain/api-key.aggregate.js';
import { KeyRepository, toKeyEvent } from '../../key-repository.js';
import { keyViewFromAggregate } from '../../key-view.js';
import { assertNoBreach, defaultExpiry, keyBreaches } from '../../policy/key-policy.js';
import { PolicyStore } from '../../policy/policy-store.js';
import { assertCanCreateIn } from '../../tenant-access.js';
import { CreateKeyCommand, type CreatedKey } from './create-key.command.js';

export class IdempotencyKeyReusedError extends DomainError {
  static create(): IdempotencyKeyReusedError {
    return new IdempotencyKeyReusedError(
      'unprocessable',
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used for a different request; use a new key for a new request',
    );
  }
}

/** A stable UUID from a name: the retry of a request derives the same key id and event id. */
function nameUuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

@CommandHandler(CreateKeyCommand)
export class CreateKeyHandler implements ICommandHandler<CreateKeyCommand> {
  constructor(
    private readonly keys: KeyRepository,
    private readonly policies: PolicyStore,
    @Inject(KEY_PEPPER) private readonly pepper: Buffer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async execute({ input, ctx, idempotencyKey }: CreateKeyCommand): Promise<CreatedKey> {
    assertCanCreateIn(ctx.actor, input.tenantId);
    const scope = idempotencyKey === undefined ? undefined : `${ctx.actor.type}:${ctx.actor.id}:${idempotencyKey}`;
    const keyId = scope ? nameUuid(`key:${scope}`) : randomUUID();
    const now = new Date();
    const policy = await this.policies.effective(input.tenantId);
    const { key, token } = ApiKey.create(
      {
        ...input,
        expiresAt: defaultExpiry(policy, input.expiresAt, now),
        keyId,
        prefix: this.config.tokenPrefix,
        grantorScopes: ctx.actor.scopes ?? undefined,
      },
      now,
      this.pepper,
    );
    assertNoBreach(keyBreaches(policy, { scopes: key.scopes, expiresAt: key.expiresAt, secretIssuedAt: now }));
    const result = await this.keys.save(key, ctx, scope ? nameUuid(`event:${scope}`) : undefined);
    if (!result.idempotent) return { view: keyViewFromAggregate(key, now), token, replayed: false };

    const first = await this.keys.load(keyId);
    const created = toKeyEvent(result.events[0]);
    if (created.type !== 'key.created' || !sameRequest(created.payload, key)) throw IdempotencyKeyReusedError.create();
    return { view: keyViewFromAggregate(first, now), token: null, replayed: true };
  }
}

function sameRequest(
  first: { tenantId: string; name: string; scopes: readonly string[]; tags: Readonly<Record<string, string>>; expiresAt: string | null },
  retry: ApiKey,
): boolean {
  return (
    first.tenantId === retry.tenantId &&
    first.name === retry.name &&
    JSON.stringify(first.scopes) === JSON.stringify(retry.scopes) &&
    JSON.stringify(Object.entries(first.tags).sort()) === JSON.stringify(Object.entries(retry.tags).sort()) &&
    // expiresInDays is relative to the request time, so only whether there is an expiry is compared.
    (first.expiresAt === null) === (retry.expiresAt === null)
  );
}
