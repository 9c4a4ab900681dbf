import type { KeyView } from '../../keys/index.js';
import { cliActor } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { parsePositiveInt, writeErr, writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { renderKeyTable } from './key-output.js';

interface ListOptions {
  tenant?: string;
  includeExpired?: boolean;
  includeRevoked?: boolean;
  limit?: string;
}

type Status = 'active' | 'expired' | 'revoked';

const PAGE = 500;
const DEFAULT_LIMIT = 100;

/** Newest first, like the query: by createdAt, then id. */
function newestFirst(a: KeyView, b: KeyView): number {
  return b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);
}

@SubCommand({ name: 'list', description: 'List keys, newest first: active ones unless asked for expired or revoked ones' })
export class ListKeysCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(_params: string[], options: ListOptions): Promise<void> {
    const limit = options.limit === undefined ? DEFAULT_LIMIT : parsePositiveInt(options.limit, '--limit', 10_000);
    const statuses: Status[] = [
      'active',
      ...(options.includeExpired ? (['expired'] as const) : []),
      ...(options.includeRevoked ? (['revoked'] as const) : []),
    ];
    const queries = await this.registry.queryBus();
    const { ListKeysQuery } = await import('../../keys/index.js');

    // The query takes one status (or all): read each wanted one up to the limit and merge them.
    const read = async (status: Status | 'all'): Promise<KeyView[]> => {
      const items: KeyView[] = [];
      let cursor: string | undefined;
      do {
        const page = await queries.execute(
          new ListKeysQuery(cliActor(), {
            tenantId: options.tenant,
            status,
            limit: Math.min(PAGE, limit + 1 - items.length),
            cursor,
            sort: 'createdAt',
          }),
        );
        items.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined && items.length <= limit);
      return items;
    };
    const merged = (statuses.length === 3 ? await read('all') : (await Promise.all(statuses.map(read))).flat()).sort(newestFirst);
    const items = merged.slice(0, limit);
    const more = merged.length > limit;

    if (this.json) {
      writeJson({ items, more });
      return;
    }
    const hidden = [options.includeExpired ? null : 'expired', options.includeRevoked ? null : 'revoked'].filter(Boolean);
    const where = options.tenant === undefined ? '' : ` for tenant ${options.tenant}`;
    if (items.length === 0) writeOut(`No ${statuses.join(' or ')} keys${where}.`);
    else writeOut(renderKeyTable(items));
    if (more) writeErr(`(showing the newest ${limit}; pass --limit for more)`);
    if (hidden.length > 0) {
      writeErr(`(${hidden.join(' and ')} keys are hidden; pass ${hidden.map((h) => `--include-${h}`).join(' / ')} to show them)`);
    }
  }

  @Option({ flags: '--tenant <tenantId>', description: 'only this tenant' })
  parseTenant(value: string): string {
    return value;
  }

  @Option({ flags: '--include-expired', description: 'also list expired keys (marked EXPIRED)' })
  parseIncludeExpired(): boolean {
    return true;
  }

  @Option({ flags: '--include-revoked', description: 'also list revoked keys (marked REVOKED)' })
  parseIncludeRevoked(): boolean {
    return true;
  }

  @Option({ flags: '--limit <n>', description: `at most this many keys (default ${DEFAULT_LIMIT})` })
  parseLimit(value: string): string {
    return value;
  }
}
