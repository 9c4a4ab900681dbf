import type { AuditEntry, AuditFilter, ExportFormat } from '../../audit/index.js';
import { cliActor } from '../cli-actor.js';
import { CliCommand, Command, commandPath, Option } from '../cli-command.js';
import { UsageError } from '../errors.js';
import { parseInstantOrAgo, parsePositiveInt, writeErr, writeOut } from '../output.js';
import { settleProjections } from '../projections/settle.js';
import { Registry } from '../registry.js';
import { parseReasonCode } from '../keys/key-options.js';
import type { ReasonCode } from '../../keys/index.js';
import { take, writeChunk, writeJsonArray } from '../stdout.js';
import { renderAuditTable } from './audit-output.js';
import { VerifyAuditCliCommand } from './verify-audit.command.js';

interface AuditOptions {
  tenant?: string;
  key?: string;
  actor?: string;
  reasonCode?: ReasonCode;
  since?: string;
  until?: string;
  format?: 'table' | ExportFormat;
  limit?: string;
}

const TABLE_LIMIT = 50;
/** The audit module's EXPORT_FORMATS, spelled out so that --help loads no audit module (a second of start-up). */
const EXPORTS = ['ndjson', 'csv', 'events-ndjson'] as const satisfies readonly ExportFormat[];
/** Does not compile while an ExportFormat is missing from EXPORTS. */
const FORMATS: readonly string[] = ['table', ...EXPORTS] satisfies [Exclude<ExportFormat, (typeof EXPORTS)[number]>] extends [never]
  ? string[]
  : never;

@Command({
  name: 'audit',
  description:
    'Audit log entries, newest first, as a table or exported as NDJSON or CSV; --format events-ndjson exports every hashed event in chain order; "audit verify" checks the hash chain',
  subCommands: [VerifyAuditCliCommand],
})
export class AuditCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(params: string[], options: AuditOptions): Promise<void> {
    if (params.length > 0) {
      throw new UsageError(`unknown command "${commandPath(this.command)} ${params[0]}"; see "${commandPath(this.command)} --help"`);
    }
    if (this.json && options.format !== undefined) throw new UsageError('give either --json or --format, not both');
    const format = this.json ? 'json' : (options.format ?? 'table');
    const now = new Date();
    const since = options.since === undefined ? undefined : parseInstantOrAgo(options.since, '--since', now);
    const until = options.until === undefined ? undefined : parseInstantOrAgo(options.until, '--until', now);
    if (since && until && since > until) throw new UsageError('--since must not be after --until');
    // A table is for reading: the newest entries. An export is everything that matches.
    const limit =
      options.limit !== undefined ? parsePositiveInt(options.limit, '--limit', 10_000_000) : format === 'table' ? TABLE_LIMIT : undefined;

    const app = await this.registry.open();
    const [{ AuditExporter, AuditReader }, { KeyRepository }, { ProjectionsService }] = await Promise.all([
      import('../../audit/index.js'),
      import('../../keys/index.js'),
      import('../../event-store/index.js'),
    ]);
    const filter: AuditFilter = {
      tenantId: options.tenant,
      actorId: options.actor,
      reasonCode: options.reasonCode,
      keyId: options.key === undefined ? undefined : await app.get(KeyRepository).resolveKeyId(options.key),
      from: since?.toISOString(),
      to: until?.toISOString(),
    };
    const lag = await settleProjections(app.get(ProjectionsService), 2000, 'audit-log');
    if (lag > 0) writeErr(`(the audit log is ${lag} event(s) behind the event store; a running server is catching up)`);

    if (format !== 'json' && format !== 'table') {
      for await (const text of await app.get(AuditExporter).open(cliActor(), filter, format, { limit })) await writeChunk(text as string);
      return;
    }
    const reader = app.get(AuditReader);
    // One more than shown, to tell whether there is more.
    const entries = take(reader.stream(cliActor(), filter, 1000), limit === undefined ? undefined : limit + 1);
    switch (format) {
      case 'json':
        return writeJsonArray(take(entries, limit));
      case 'table': {
        const rows: AuditEntry[] = [];
        for await (const entry of entries) rows.push(entry);
        const shown = rows.slice(0, limit);
        writeOut(shown.length === 0 ? 'No audit entries match.' : renderAuditTable(shown));
        if (rows.length > shown.length) {
          writeErr(`(showing the newest ${shown.length}; pass --limit for more, or --format ndjson|csv to export all)`);
        }
      }
    }
  }

  @Option({ flags: '--tenant <tenantId>', description: 'only this tenant' })
  parseTenant(value: string): string {
    return value;
  }

  @Option({ flags: '--key <id>', description: 'only this key (id or publicId)' })
  parseKey(value: string): string {
    return value;
  }

  @Option({ flags: '--actor <actorId>', description: 'only this actor: an admin key id, cli:<user> or system' })
  parseActor(value: string): string {
    return value;
  }

  @Option({
    flags: '--reason-code <code>',
    description: 'only expiries and revocations with this reason code (other: also those written before codes)',
  })
  parseReasonCode(value: string): ReasonCode {
    return parseReasonCode(value);
  }

  @Option({ flags: '--since <when>', description: 'from this instant (ISO 8601) or this long ago (24h, 7d), inclusive' })
  parseSince(value: string): string {
    return value;
  }

  @Option({ flags: '--until <when>', description: 'up to this instant (ISO 8601) or this long ago, exclusive' })
  parseUntil(value: string): string {
    return value;
  }

  @Option({
    flags: '--format <format>',
    description:
      'table (default), ndjson or csv; events-ndjson: every event of the hash chain as hashed, in chain order, for docs/audit-verifier.mjs --file (no filters)',
    choices: [...FORMATS],
  })
  parseFormat(value: string): string {
    // The option's parser replaces commander's own choices check: check here.
    if (!FORMATS.includes(value)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${value}"`);
    return value;
  }

  @Option({ flags: '--limit <n>', description: `at most this many entries (table: ${TABLE_LIMIT} by default; exports: all)` })
  parseLimit(value: string): string {
    return value;
  }
}
