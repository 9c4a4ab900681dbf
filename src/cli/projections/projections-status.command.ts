import type { ProjectionStatus } from '../../event-store/index.js';
import { CliCommand, SubCommand } from '../cli-command.js';
import { formatCount, renderTable, writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';

/** Where a projection stands, as seen from the database (not this process's runner state). */
export function describeLag(status: ProjectionStatus): string {
  if (status.kind === 'inline') return 'current (written with each event)';
  if (status.error) return `halted: ${status.error}`;
  return status.lag === 0 ? 'caught up' : `${formatCount(status.lag)} event(s) behind`;
}

@SubCommand({ name: 'status', description: 'Each projection with its checkpoint and how far it lags the event store' })
export class ProjectionsStatusCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(): Promise<void> {
    const { ProjectionsService } = await import('../../event-store/index.js');
    const statuses = await (await this.registry.get(ProjectionsService)).status();
    if (this.json) {
      writeJson(statuses);
      return;
    }
    writeOut(
      renderTable(
        ['NAME', 'KIND', 'POSITION', 'LAG', 'STATE'],
        statuses.map((s) => [s.name, s.kind, s.checkpoint?.position ?? null, s.kind === 'async' ? s.lag : null, describeLag(s)]),
      ),
    );
  }
}
