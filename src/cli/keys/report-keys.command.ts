import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { KeyReportFormat, KeyReportLine } from '../../keys/index.js';
import { cliActor } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { inFlagTerms, UsageError } from '../errors.js';
import { parseInstantOrAgo, writeErr } from '../output.js';
import { ProgressBar } from '../progress.js';
import { Registry } from '../registry.js';
import { writeChunk } from '../stdout.js';

interface ReportOptions {
  format?: KeyReportFormat;
  asOf?: string;
  tenant?: string;
  status?: KeyReportLine['status'];
  secretOlderThan?: number;
  unusedFor?: number;
  output?: string;
}

/** The keys module's KEY_REPORT_FORMATS, spelled out so that --help loads no keys module. */
const FORMATS = ['ndjson', 'csv'] as const satisfies readonly KeyReportFormat[];
const STATUSES = ['active', 'expired', 'revoked'] as const;

/** `90` or `90d`: whole days, 0 or more. */
function parseDays(raw: string, flag: string): number {
  const match = /^(\d{1,5})d?$/.exec(raw.trim());
  if (!match) throw new UsageError(`${flag} must be a whole number of days such as 90 or 90d, got "${raw}"`);
  return Number(match[1]);
}

function choice<T extends string>(value: string, choices: readonly T[], flag: string): T {
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got "${value}"`);
  return value as T;
}

@SubCommand({
  name: 'report',
  description:
    'The key inventory: one line per key (created, last rotated, last used, expiry, status, reason code, secret age) as NDJSON or CSV',
})
export class ReportKeysCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(params: string[], options: ReportOptions): Promise<void> {
    if (params.length > 0) throw new UsageError(`unexpected argument "${params[0]}"`);
    const format = options.format ?? 'ndjson';
    const asOf = options.asOf === undefined ? undefined : parseInstantOrAgo(options.asOf, '--as-of', new Date());
    const app = await this.registry.open();
    const { KeyReport, keyReportText } = await import('../../keys/index.js');
    const run = await inFlagTerms(
      Promise.resolve().then(() =>
        app.get(KeyReport).open(
          cliActor(),
          {
            tenantId: options.tenant,
            status: options.status,
            secretOlderThanDays: options.secretOlderThan,
            unusedForDays: options.unusedFor,
          },
          asOf,
        ),
      ),
      { tenantId: '--tenant', asOf: '--as-of' },
    );
    // Progress goes to stderr: with -o, or on a terminal; never into the report.
    const progress =
      options.output !== undefined || process.stderr.isTTY
        ? new ProgressBar({ label: 'keys report', total: await run.candidates(), unit: 'keys' })
        : undefined;
    const file = options.output === undefined ? undefined : createWriteStream(options.output, { flags: 'wx' });
    try {
      if (file) {
        await once(file, 'open').catch((error: NodeJS.ErrnoException) => {
          throw error.code === 'EEXIST'
            ? new Error(`${options.output} already exists: give a new file name (the report never overwrites one)`)
            : error;
        });
      }
      let written = 0;
      const pages = async function* (source: AsyncIterable<KeyReportLine[]>): AsyncGenerator<KeyReportLine[]> {
        for await (const page of source) {
          written += page.length;
          yield page;
        }
      };
      for await (const text of keyReportText(format, pages(run.pages((examined) => progress?.update(examined))))) {
        if (file === undefined) await writeChunk(text);
        else if (!file.write(text)) await once(file, 'drain');
      }
      if (file) {
        file.end();
        await once(file, 'finish');
      }
      progress?.finish();
      if (options.output !== undefined) writeErr(`${written} key(s) written to ${options.output}`);
    } catch (error) {
      progress?.abort();
      file?.destroy();
      throw error;
    }
  }

  @Option({ flags: '--format <format>', description: 'ndjson (default) or csv', choices: [...FORMATS] })
  parseFormat(value: string): KeyReportFormat {
    return choice(value, FORMATS, '--format');
  }

  @Option({ flags: '--as-of <when>', description: 'every key as it was at this instant (ISO 8601) or this long ago (30d); default now' })
  parseAsOf(value: string): string {
    return value;
  }

  @Option({ flags: '--tenant <tenantId>', description: 'only this tenant' })
  parseTenant(value: string): string {
    return value;
  }

  @Option({
    flags: '--status <status>',
    description: 'only keys with this status (at --as-of): active, expired or revoked',
    choices: [...STATUSES],
  })
  parseStatus(value: string): KeyReportLine['status'] {
    return choice(value, STATUSES, '--status');
  }

  @Option({ flags: '--secret-older-than <days>', description: 'only keys whose current secret is older than this many days' })
  parseSecretOlderThan(value: string): number {
    return parseDays(value, '--secret-older-than');
  }

  @Option({ flags: '--unused-for <days>', description: 'only keys not used for this many days (never used: counted from creation)' })
  parseUnusedFor(value: string): number {
    return parseDays(value, '--unused-for');
  }

  @Option({ flags: '-o, --output <file>', description: 'write the report to this new file (refuses to overwrite) and show progress' })
  parseOutput(value: string): string {
    return value;
  }
}
