import type { VerifyResult } from '../../audit/index.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { CommandFailed, UsageError } from '../errors.js';
import { formatCount, renderFields, writeErr, writeJson, writeOut } from '../output.js';
import { ProgressBar } from '../progress.js';
import { settleProjections } from '../projections/settle.js';
import { Registry } from '../registry.js';

const DIGEST = /^\d{1,18}:[0-9a-f]{64}$/;

function problem(result: VerifyResult): string {
  return result.firstMismatch
    ? `at position ${result.firstMismatch.position}: ${result.firstMismatch.reason}`
    : 'the given digest does not match the chain';
}

@SubCommand({
  name: 'verify',
  description: 'Recompute the hash chain from the event store and check it against the audit log (and a digest kept elsewhere)',
})
export class VerifyAuditCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(_params: string[], options: { fromDigest?: string }): Promise<void> {
    if (options.fromDigest !== undefined && !DIGEST.test(options.fromDigest.trim())) {
      throw new UsageError(
        `--from-digest must be "<position>:<chainHash>" as "keyledger audit verify" prints it, got "${options.fromDigest}"`,
      );
    }
    const app = await this.registry.open();
    const [{ ChainVerifier }, { EventStore, ProjectionsService, START }] = await Promise.all([
      import('../../audit/index.js'),
      import('../../event-store/index.js'),
    ]);
    const lag = await settleProjections(app.get(ProjectionsService), 2000, 'audit-log');
    if (lag > 0) writeErr(`(the audit log is ${lag} event(s) behind the event store; verifying what it holds)`);

    const total = await app.get(EventStore).countAfter(START, Number.MAX_SAFE_INTEGER);
    const bar = new ProgressBar({ label: 'verifying the audit chain', total });
    let result: VerifyResult;
    try {
      result = await app.get(ChainVerifier).verify(options.fromDigest?.trim(), (checked) => bar.update(checked));
    } catch (error) {
      bar.abort();
      throw error;
    }
    bar.finish(result.checkedEvents);
    const headDigest = `${result.headPosition}:${result.chainHash}`;

    if (this.json) writeJson({ ...result, headDigest });
    else if (result.ok) {
      writeOut(`ok: ${formatCount(result.checkedEvents)} events verified; the audit log matches the event store`);
      writeOut(
        renderFields([
          ['head position', result.headPosition],
          ['chain hash', result.chainHash],
          ['digest', `${headDigest}  (keep it outside the system; check against it later with --from-digest)`],
          ...(result.digest ? ([['given digest', `matches at position ${result.digest.position}`]] as const) : []),
        ]),
      );
    } else {
      writeOut(`FAILED: ${problem(result)}`);
    }
    if (!result.ok) throw new CommandFailed('AUDIT.CHAIN_BROKEN', `the audit chain does not verify: ${problem(result)}`);
  }

  @Option({ flags: '--from-digest <digest>', description: '"<position>:<chainHash>" from an earlier verify, kept outside the system' })
  parseFromDigest(value: string): string {
    return value;
  }
}
