import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { PG_POOL } from '../../../database/index.js';
import { KeyNotFoundError } from '../../domain/api-key.errors.js';
import { KeyRepository } from '../../key-repository.js';
import { KEYS_WITH_LAST_USE } from '../keys-with-last-use.js';
import { KEY_VIEW_COLUMNS, keyViewFromRow, type KeyRow, type KeyView } from '../../key-view.js';
import { assertCanAccessKey } from '../../tenant-access.js';
import { GetKeyQuery } from './get-key.query.js';

@QueryHandler(GetKeyQuery)
export class GetKeyHandler implements IQueryHandler<GetKeyQuery> {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly keys: KeyRepository,
  ) {}

  async execute({ actor, id }: GetKeyQuery): Promise<KeyView> {
    const keyId = await this.keys.resolveKeyId(id);
    const { rows } = await this.pool.query<KeyRow>(`SELECT ${KEY_VIEW_COLUMNS} FROM ${KEYS_WITH_LAST_USE} WHERE key_id = $1`, [keyId]);
    const row = rows[0];
    if (!row) throw KeyNotFoundError.withId(id);
    assertCanAccessKey(actor, { tenantId: row.tenant_id, keyId }, id);
    return keyViewFromRow(row, new Date());
  }
}
