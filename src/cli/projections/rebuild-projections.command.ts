import { CliCommand, SubCommand } from '../cli-command.js';
import { UsageError } from '../errors.js';
import { formatCount, writeErr, writeJson, writeOut } from '../output.js';
import { ProgressBar } from '../progress.js';
import { Registry } from '../registry.js';
import { settleProjections } from './settle.js';

interface Rebuilt {
  name: string;
  kind: 'inline' | 'async';
  events: number;
  position: number | null;
  lag: number;
}

/** After the replay, how long to wait for the projection to reach the head (a running server may share the work). */
const CATCH_UP_TIMEOUT_MS = 30_000;

@SubCommand({
  name: 'rebuild',
  arguments: '[name]',
  argsDescription: { name: 'one projection (see "projections status"); all of them when omitted' },
  description: 'Empty a projection and replay every event into it, with progress on stderr',
})
export class RebuildProjectionsCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([name]: string[]): Promise<void> {
    const app = await this.registry.open();
    const { EventStore, ProjectionsService, START } = await import('../../event-store/index.js');
    const projections = app.get(ProjectionsService);
    const known = projections.names();
    if (name !== undefined && !known.includes(name)) throw new UsageError(`no projection named "${name}"; known: ${known.join(', ')}`);
    const store = app.get(EventStore);
    const rebuilt: Rebuilt[] = [];
    for (const projection of name === undefined ? known : [name]) {
      const kind = (await projections.status()).find((s) => s.name === projection)?.kind ?? 'async';
      if (kind === 'inline') writeErr(`(${projection} is rebuilt in one transaction: new events wait until it commits)`);
      const total = await store.countAfter(START, Number.MAX_SAFE_INTEGER);
      const bar = new ProgressBar({ label: projection, total });
      let done = 0;
      try {
        await projections.rebuild(projection, (n) => {
          done = n;
          bar.update(n, Math.max(total, n));
        });
      } catch (error) {
        bar.abort();
        throw error;
      }
      // A running server's runner may have taken some batches: wait for the head, whoever applies it.
      const lag = kind === 'async' ? await settleProjections(projections, CATCH_UP_TIMEOUT_MS, projection) : 0;
      bar.finish(lag === 0 ? Math.max(done, total) : done);
      const status = (await projections.status()).find((s) => s.name === projection);
      rebuilt.push({ name: projection, kind, events: Math.max(done, total), position: status?.checkpoint?.position ?? null, lag });
    }
    if (this.json) {
      writeJson(rebuilt);
      return;
    }
    for (const r of rebuilt) {
      const where =
        r.kind === 'inline'
          ? 'current'
          : r.lag === 0
            ? `caught up at position ${r.position}`
            : `${formatCount(r.lag)} event(s) behind; a running server is catching up`;
      writeOut(`${r.name}: rebuilt from ${formatCount(r.events)} events; ${where}`);
    }
  }
}
