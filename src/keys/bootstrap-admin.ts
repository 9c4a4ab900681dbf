import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { PG_POOL } from '../database/index.js';
import { systemActor } from './command-context.js';
import { CreateKeyCommand } from './commands/create-key/create-key.command.js';

export const BOOTSTRAP_TENANT = 'platform';

/**
 * On a first start with no active admin key, issues one and writes it to
 * DATA_DIR/bootstrap-admin.key (mode 0600). Only the path and the publicId are logged.
 */
@Injectable()
export class BootstrapAdmin implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapAdmin.name);

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly commands: CommandBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.bootstrapAdmin) return;
    const client = await this.pool.connect();
    try {
      // Several instances may start at once: one issues the key, the others then see it.
      await client.query(`SELECT pg_advisory_lock(hashtext('keyledger.bootstrap-admin'))`);
      const { rowCount } = await client.query(
        `SELECT 1 FROM api_keys WHERE 'admin' = ANY(scopes) AND status = 'active' AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
      );
      if (rowCount) return;
      const created = await this.commands.execute(
        new CreateKeyCommand(
          { tenantId: BOOTSTRAP_TENANT, name: 'bootstrap admin', scopes: ['admin'] },
          { actor: systemActor('bootstrap'), requestId: 'bootstrap' },
        ),
      );
      const file = join(this.config.dataDir, 'bootstrap-admin.key');
      await mkdir(this.config.dataDir, { recursive: true });
      await writeFile(file, `${created.token}\n`, { mode: 0o600 });
      this.logger.log(`issued the bootstrap admin key ${created.view.publicId}; it is in ${file} (mode 0600)`);
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('keyledger.bootstrap-admin'))`).catch(() => undefined);
      client.release();
    }
  }
}
