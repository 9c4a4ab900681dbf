import type { Pool } from 'pg';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { CommandFailed } from '../errors.js';
import { renderFields, writeErr, writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';

const DUPLICATE_OBJECT = '42710';
const INSUFFICIENT_PRIVILEGE = '42501';

@SubCommand({
  name: 'create',
  arguments: '<name>',
  argsDescription: { name: 'the new role (lower-case letters, digits, "_")' },
  description: 'Create a login role that may read the key read model and LISTEN, and nothing else; prints its password once',
})
export class CreateGuardRoleCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([name]: string[], options: { print?: boolean }): Promise<void> {
    // With the pg driver (its SQL quoting): loaded when the command runs, not for --help.
    const { generatePassword, GUARD_TABLES, GUARD_USAGE_TABLES, guardRoleSql, parseRoleName, scramVerifier } =
      await import('./guard-role-sql.js');
    const role = parseRoleName(name);
    const { PG_POOL } = await import('../../database/index.js');
    const pool = (await this.registry.open()).get<Pool>(PG_POOL);
    const { rows } = await pool.query<{ database: string; schema: string; exists: boolean }>(
      'SELECT current_database() AS database, current_schema() AS schema, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists',
      [role],
    );
    const { database, schema, exists } = rows[0];
    const password = generatePassword();
    const statements = guardRoleSql(role, scramVerifier(password), database, schema);

    if (options.print) {
      if (exists) writeErr(`Note: role "${role}" already exists; this SQL would fail on it.`);
      writeOut(
        [
          `-- The guard role "${role}" for database "${database}". Its password (shown only here; the SQL holds a SCRAM verifier of it):`,
          `-- ${password}`,
          'BEGIN;',
          ...statements.map((s) => `${s};`),
          'COMMIT;',
          '',
        ].join('\n'),
      );
      return;
    }
    if (exists) throw roleExists(role);
    // One simple query: PostgreSQL runs its statements as one transaction, all or nothing.
    await pool.query(statements.join(';\n')).catch((error: unknown) => {
      const code = (error as { code?: string }).code;
      if (code === DUPLICATE_OBJECT) throw roleExists(role);
      if (code === INSUFFICIENT_PRIVILEGE) {
        throw new CommandFailed(
          'GUARD_ROLE.NOT_ALLOWED',
          `the database role keyledger connects as may not create roles or grant on ${database}: run "keyledger guard-role create ${role} --print" and have a superuser run its SQL`,
        );
      }
      throw error;
    });

    const grants = { role, database, schema, tables: [...GUARD_TABLES], writes: [...GUARD_USAGE_TABLES] };
    if (this.json) writeJson({ ...grants, password });
    else {
      writeOut(`${password}\n`);
      writeOut(
        renderFields([
          ['role', role],
          ['database', database],
          ['schema', schema],
          ['may read', GUARD_TABLES.join(', ')],
          ['may write', GUARD_USAGE_TABLES.join(', ')],
        ]),
      );
    }
    writeErr(`Note: this is the only time the password of "${role}" is shown; give it to the service as part of its database URL.\n`);
  }

  @Option({ flags: '--print', description: 'print the SQL (for a superuser to run) instead of running it' })
  parsePrint(): boolean {
    return true;
  }
}

function roleExists(role: string): CommandFailed {
  return new CommandFailed(
    'GUARD_ROLE.EXISTS',
    `role "${role}" already exists: choose another name, or drop it first (DROP OWNED BY ${role}; DROP ROLE ${role})`,
  );
}
