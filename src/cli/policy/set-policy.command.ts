import { cliActor, cliCommandContext } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { UsageError, inFlagTerms } from '../errors.js';
import { parseDurationOrZero, writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { renderPolicy, renderViolations } from './policy-output.js';

type Options = {
  tenant?: string;
  maxLifetimeDays?: string;
  defaultLifetimeDays?: string;
  requireExpiry?: string;
  maxGrace?: string;
  allowedScopes?: string;
  inactiveAfterDays?: string;
};

/** Each flag and the setting it sets: `none` unsets it (no rule at this level). */
const FLAGS = {
  maxLifetimeDays: '--max-lifetime-days',
  defaultLifetimeDays: '--default-lifetime-days',
  requireExpiry: '--require-expiry',
  maxGracePeriodSeconds: '--max-grace',
  allowedScopes: '--allowed-scopes',
  inactiveAfterDays: '--inactive-after-days',
} as const;

function wholeNumber(raw: string, flag: string): number {
  if (!/^\d{1,9}$/.test(raw)) throw new UsageError(`${flag} must be a whole number or "none", got "${raw}"`);
  return Number(raw);
}

/** The settings the flags change; the others keep their value. */
function changes(options: Options): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  const each = <T>(raw: string | undefined, name: keyof typeof FLAGS, parse: (raw: string) => T): void => {
    if (raw !== undefined) set[name] = raw === 'none' ? null : parse(raw);
  };
  each(options.maxLifetimeDays, 'maxLifetimeDays', (raw) => wholeNumber(raw, FLAGS.maxLifetimeDays));
  each(options.defaultLifetimeDays, 'defaultLifetimeDays', (raw) => wholeNumber(raw, FLAGS.defaultLifetimeDays));
  each(options.requireExpiry, 'requireExpiry', (raw) => {
    if (raw !== 'true' && raw !== 'false') throw new UsageError(`${FLAGS.requireExpiry} must be true, false or "none", got "${raw}"`);
    return raw === 'true';
  });
  each(options.maxGrace, 'maxGracePeriodSeconds', (raw) => parseDurationOrZero(raw, FLAGS.maxGracePeriodSeconds));
  each(options.allowedScopes, 'allowedScopes', (raw) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  each(options.inactiveAfterDays, 'inactiveAfterDays', (raw) => wholeNumber(raw, FLAGS.inactiveAfterDays));
  return set;
}

@SubCommand({
  name: 'set',
  description:
    'Change the platform default key policy, or a tenant\'s (--tenant): each flag sets one setting ("none" unsets it), the others stay. ' +
    'Prints the policy and the active keys that now break it (reported, not changed).',
})
export class SetPolicyCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(_: string[], options: Options): Promise<void> {
    const set = changes(options);
    if (Object.keys(set).length === 0) throw new UsageError(`policy set needs at least one of ${Object.values(FLAGS).join(', ')}`);
    const [commands, queries] = [await this.registry.commandBus(), await this.registry.queryBus()];
    const { GetPolicyQuery, SetPolicyCommand, PolicyViolationsQuery, POLICY_SETTINGS } = await import('../../keys/index.js');
    const tenantId = options.tenant ?? null;
    const current = await queries.execute(new GetPolicyQuery(cliActor(), tenantId));
    const view = await inFlagTerms(
      commands.execute(new SetPolicyCommand(tenantId, { ...current.policy, ...set }, cliCommandContext(), current.version)),
      { ...FLAGS, tenantId: '--tenant' },
    );
    const violations = await queries.execute(new PolicyViolationsQuery(cliActor(), tenantId));
    if (this.json) {
      writeJson({ ...view, violations });
      return;
    }
    writeOut(renderPolicy(view, POLICY_SETTINGS));
    writeOut(`\n${renderViolations(violations)}`);
  }

  @Option({ flags: '--tenant <tenantId>', description: "set this tenant's policy (default: the platform default)" })
  parseTenant(value: string): string {
    return value;
  }
  @Option({ flags: '--max-lifetime-days <days>', description: "a secret's expiry at most this many days after it is issued, or none" })
  parseMaxLifetime(value: string): string {
    return value;
  }
  @Option({ flags: '--default-lifetime-days <days>', description: 'the expiry a key created without one gets, or none' })
  parseDefaultLifetime(value: string): string {
    return value;
  }
  @Option({ flags: '--require-expiry <true|false|none>', description: 'every key must have an expiry' })
  parseRequireExpiry(value: string): string {
    return value;
  }
  @Option({
    flags: '--max-grace <duration>',
    description: "a rotation's grace period at most this long: 1h, 7d, 0 (no grace period), or none",
  })
  parseMaxGrace(value: string): string {
    return value;
  }
  @Option({ flags: '--allowed-scopes <scopes>', description: 'comma-separated: keys may only hold scopes these cover, or none' })
  parseAllowedScopes(value: string): string {
    return value;
  }
  @Option({ flags: '--inactive-after-days <days>', description: 'expire keys unused this many days (never used: since creation), or none' })
  parseInactive(value: string): string {
    return value;
  }
}
