import { Logger } from '@nestjs/common';
import { escapeIdentifier, type PoolClient } from 'pg';

const logger = new Logger('TableSwap');

/** How long one attempt to take the live table waits for its readers (an export may hold it for minutes). */
const LOCK_TIMEOUT_MS = 200;
const LOCK_RETRY_MAX_MS = 2000;

/** The name of the table a rebuild fills: the live one's, suffixed. */
export function shadowName(table: string): string {
  return `${table}_rebuild`;
}

export interface IndexDef {
  name: string;
  definition: string;
  constraint: 'p' | 'u' | null;
}

/** `CREATE [UNIQUE] INDEX name ON [ONLY] table USING …`, as pg_get_indexdef writes it. */
const INDEX_DEF = /^(CREATE (?:UNIQUE )?INDEX )(\S+)( ON (?:ONLY )?)(\S+)( USING .*)$/s;
/** `CREATE [CONSTRAINT] TRIGGER name … ON table …`, as pg_get_triggerdef writes it. */
const TRIGGER_ON = / ON (\S+) /;

/**
 * A new, empty table shaped like `table` (columns, defaults, checks, identity, comments; no
 * indexes yet), created in the caller's transaction, for a rebuild to fill with `COPY … FREEZE`.
 * `swapIn` then builds the live table's indexes, constraints and triggers on it (one sort per index
 * instead of a random insert per row), gives it the live table's owner and grants, and replaces the
 * live table with it. Readers of the live table never wait for the fill: only for the swap itself,
 * which lasts until the caller commits.
 */
export class ShadowTable {
  private constructor(
    private readonly client: PoolClient,
    readonly live: string,
    readonly name: string,
  ) {}

  static async create(client: PoolClient, live: string): Promise<ShadowTable> {
    const name = shadowName(live);
    await client.query(`CREATE TABLE ${escapeIdentifier(name)} (LIKE ${escapeIdentifier(live)} INCLUDING ALL EXCLUDING INDEXES)`);
    return new ShadowTable(client, live, name);
  }

  async swapIn(): Promise<void> {
    const { client, live, name } = this;
    const indexes = await this.buildIndexes();
    const { rows: triggers } = await client.query<{ definition: string }>(
      `SELECT pg_get_triggerdef(oid) AS definition FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname`,
      [live],
    );
    for (const { definition } of triggers) await client.query(definition.replace(TRIGGER_ON, ` ON ${escapeIdentifier(name)} `));
    await this.copyOwnerAndGrants();
    // Statistics now, so that the first queries after the swap are planned as well as before it.
    await client.query(`ANALYZE ${escapeIdentifier(name)}`);
    await this.lockLive();
    await client.query(`DROP TABLE ${escapeIdentifier(live)}`);
    await client.query(`ALTER TABLE ${escapeIdentifier(name)} RENAME TO ${escapeIdentifier(live)}`);
    // Renaming an index renames its constraint too.
    for (const index of indexes) {
      await client.query(`ALTER INDEX ${escapeIdentifier(shadowName(index.name))} RENAME TO ${escapeIdentifier(index.name)}`);
    }
  }

  /**
   * The live table's indexes and their primary key and unique constraints, built on the filled
   * table under temporary names (one sort each). Also what bench:rebuild times as the floor.
   */
  async buildIndexes(): Promise<IndexDef[]> {
    const { client, live, name } = this;
    const indexes = await this.indexes();
    for (const index of indexes) {
      const match = INDEX_DEF.exec(index.definition);
      if (!match) throw new Error(`cannot rebuild index ${index.name} of ${live}: unexpected definition "${index.definition}"`);
      const temporary = escapeIdentifier(shadowName(index.name));
      await client.query(`${match[1]}${temporary}${match[3]}${escapeIdentifier(name)}${match[5]}`);
      if (index.constraint !== null) {
        const kind = index.constraint === 'p' ? 'PRIMARY KEY' : 'UNIQUE';
        await client.query(`ALTER TABLE ${escapeIdentifier(name)} ADD CONSTRAINT ${temporary} ${kind} USING INDEX ${temporary}`);
      }
    }
    return indexes;
  }

  private async indexes(): Promise<IndexDef[]> {
    const { rows } = await this.client.query<IndexDef>(
      `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
              (SELECT k.contype::text FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u')) AS constraint
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE i.indrelid = $1::regclass
       ORDER BY i.indisprimary DESC, c.relname`,
      [this.live],
    );
    return rows;
  }

  /** The new table belongs to whoever owned the old one and carries the same privileges (the owner's own included). */
  private async copyOwnerAndGrants(): Promise<void> {
    const { client, live, name } = this;
    const { rows } = await client.query<{
      owner: string;
      same: boolean;
      custom: boolean;
      grantee: string | null;
      privilege: string | null;
      grantable: boolean | null;
    }>(
      `SELECT t.relowner::regrole::text AS owner, t.relowner = s.relowner AS same, t.relacl IS NOT NULL AS custom,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS grantee,
              a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM pg_class t CROSS JOIN pg_class s
       LEFT JOIN LATERAL aclexplode(t.relacl) a ON true
       WHERE t.oid = $1::regclass AND s.oid = $2::regclass`,
      [live, name],
    );
    const { owner, same, custom } = rows[0];
    const table = escapeIdentifier(name);
    if (!same) await client.query(`ALTER TABLE ${table} OWNER TO ${owner}`); // regrole's text is quoted where needed
    if (!custom) return; // the default privileges, as the new table has them
    await client.query(`REVOKE ALL ON ${table} FROM ${owner}`);
    for (const r of rows) {
      if (r.grantee === null || r.privilege === null) continue;
      await client.query(`GRANT ${r.privilege} ON ${table} TO ${r.grantee}${r.grantable ? ' WITH GRANT OPTION' : ''}`);
    }
  }

  /**
   * ACCESS EXCLUSIVE on the live table, for the swap. A request that waits queues every later
   * reader behind it, so each attempt gives up after LOCK_TIMEOUT_MS and the next one comes after
   * a pause in which readers go on: a long export delays the swap, not the queries.
   */
  private async lockLive(): Promise<void> {
    const { client, live } = this;
    const { rows } = await client.query<{ timeout: string }>(`SELECT current_setting('lock_timeout') AS timeout`);
    for (let attempt = 1; ; attempt++) {
      await client.query('SAVEPOINT keyledger_swap');
      try {
        await client.query(`SELECT set_config('lock_timeout', $1, true)`, [`${LOCK_TIMEOUT_MS}ms`]);
        await client.query(`LOCK TABLE ${escapeIdentifier(live)} IN ACCESS EXCLUSIVE MODE`);
        await client.query(`SELECT set_config('lock_timeout', $1, true)`, [rows[0].timeout]);
        await client.query('RELEASE SAVEPOINT keyledger_swap');
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55P03') throw error; // lock_not_available
        await client.query('ROLLBACK TO SAVEPOINT keyledger_swap');
        if (attempt % 25 === 0) logger.warn(`still waiting for the readers of ${live} to let the rebuilt table in (${attempt} attempts)`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(LOCK_RETRY_MAX_MS, 50 * attempt)));
      }
    }
  }
}
