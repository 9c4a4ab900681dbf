import { cliActor } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { renderPolicy, renderViolations } from './policy-output.js';

@SubCommand({
  name: 'get',
  description: "The platform default key policy, or a tenant's (--tenant) with the effective value of each setting and where it comes from",
})
export class GetPolicyCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(_: string[], options: { tenant?: string; violations?: boolean }): Promise<void> {
    const queries = await this.registry.queryBus();
    const { GetPolicyQuery, PolicyViolationsQuery, POLICY_SETTINGS } = await import('../../keys/index.js');
    const tenantId = options.tenant ?? null;
    const view = await queries.execute(new GetPolicyQuery(cliActor(), tenantId));
    const violations = options.violations ? await queries.execute(new PolicyViolationsQuery(cliActor(), tenantId)) : undefined;
    if (this.json) {
      writeJson(violations === undefined ? view : { ...view, violations });
      return;
    }
    writeOut(renderPolicy(view, POLICY_SETTINGS));
    if (violations !== undefined) writeOut(`\n${renderViolations(violations)}`);
  }

  @Option({ flags: '--tenant <tenantId>', description: "the tenant's policy (default: the platform default)" })
  parseTenant(value: string): string {
    return value;
  }

  @Option({ flags: '--violations', description: 'also list the active keys that break it' })
  parseViolations(): boolean {
    return true;
  }
}
