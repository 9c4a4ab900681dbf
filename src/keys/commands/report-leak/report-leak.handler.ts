import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { KEY_PEPPER } from '@keyledger/nestjs';
import { ConcurrencyError } from '../../../event-store/index.js';
import { hashesEqual, hashToken, parseToken } from '../../../token/index.js';
import type { CommandContext } from '../../command-context.js';
import type { ApiKey } from '../../domain/api-key.aggregate.js';
import { KeyRepository } from '../../key-repository.js';
import { canAccessTenant } from '../../tenant-access.js';
import { ReportLeakCommand, type LeakSource, type LeakVerdict } from './report-leak.command.js';

const FALSE_POSITIVE: LeakVerdict = Object.freeze({ label: 'false_positive' });
/** Compared with when no key (of the actor's reach) has the publicId: an unknown key costs what a wrong secret does. */
const NO_KEY = [Buffer.alloc(32)];
const SAVE_ATTEMPTS = 3;

@CommandHandler(ReportLeakCommand)
export class ReportLeakHandler implements ICommandHandler<ReportLeakCommand> {
  constructor(
    private readonly keys: KeyRepository,
    @Inject(KEY_PEPPER) private readonly pepper: Buffer,
  ) {}

  async execute({ token, source, ctx }: ReportLeakCommand): Promise<LeakVerdict> {
    // A wrong shape or checksum is no key of ours, and anyone can tell that offline.
    const parsed = parseToken(token);
    if (!parsed.ok) return FALSE_POSITIVE;
    const secrets = await this.keys.secretsOf(parsed.publicId);
    const digest = hashToken(token, this.pepper);
    const known = secrets !== undefined && canAccessTenant(ctx.actor, secrets.tenantId);
    let matched = false;
    for (const hash of known ? secrets.secretHashes : NO_KEY) matched = hashesEqual(digest, hash) || matched;
    if (!known || !matched) return FALSE_POSITIVE;
    const revoked = await this.revokeIfItOpens(secrets.keyId, digest, source, ctx);
    return { label: 'true_positive', keyId: secrets.keyId, publicId: parsed.publicId, revoked };
  }

  /** Revokes the key while the token still opens it; a key already revoked or expired is not revoked twice. */
  private async revokeIfItOpens(keyId: string, digest: Buffer, source: LeakSource, ctx: CommandContext): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const key = await this.keys.loadToManage(keyId, ctx.actor);
      const now = new Date();
      if (!opens(key, digest, now)) return false;
      key.revoke(source.reason, now, { reasonCode: 'leaked', ...(source.sourceUrl === undefined ? {} : { sourceUrl: source.sourceUrl }) });
      try {
        await this.keys.save(key, ctx);
        return true;
      } catch (error) {
        // Another command (a second report of the same token, often) changed the key first: look again.
        if (!(error instanceof ConcurrencyError) || attempt === SAVE_ATTEMPTS) throw error;
      }
    }
  }
}

/** Whether the guard would accept this token now: the current secret, or the previous one within its grace period. */
function opens(key: ApiKey, digest: Buffer, now: Date): boolean {
  if (key.statusAt(now) !== 'active') return false;
  if (hashesEqual(digest, Buffer.from(key.secretHash, 'hex'))) return true;
  const previous = key.previousSecretHash;
  const graceEndsAt = key.graceEndsAt;
  return previous !== null && graceEndsAt !== null && graceEndsAt > now && hashesEqual(digest, Buffer.from(previous, 'hex'));
}
