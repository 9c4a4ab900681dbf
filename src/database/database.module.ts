import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { Pool, types } from 'pg';
import { DATABASE_URL, PG_POOL } from './database.tokens.js';

// int8 counts and positions fit in a double for any realistic event store (2^53).
types.setTypeParser(types.builtins.INT8, (v) => Number(v));

@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  static forRoot(url: string, poolSize = 20): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: DATABASE_URL, useValue: url },
        {
          provide: PG_POOL,
          useFactory: () => {
            const pool = new Pool({ connectionString: url, max: poolSize, application_name: 'keyledger' });
            // An idle client's error (e.g. the server restarting) must not crash the process.
            pool.on('error', (error) => new Logger('Database').warn(`idle client error: ${error.message}`));
            return pool;
          },
        },
      ],
      exports: [PG_POOL, DATABASE_URL],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
