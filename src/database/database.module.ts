import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { types, type Pool } from 'pg';
import { createPool } from '@keyledger/nestjs/internal';
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
            return createPool({ connectionString: url, max: poolSize, application_name: 'keyledger' }, new Logger('Database'));
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
