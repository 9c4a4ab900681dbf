import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import { KEY_PEPPER, recordRegistryPepper } from '@keyledger/nestjs';
import { PG_POOL } from '../database/index.js';

/**
 * At start-up (server and CLI), records the fingerprint of the pepper keys are issued with, and
 * refuses to start with another one than this database's keys were issued with.
 */
@Injectable()
export class RegistryPepper implements OnModuleInit {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(KEY_PEPPER) private readonly pepper: Buffer,
  ) {}

  onModuleInit(): Promise<void> {
    return recordRegistryPepper(this.pool, this.pepper);
  }
}
