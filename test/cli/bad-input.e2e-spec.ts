import { CLI_TEST_TIMEOUT, cli, cliEnv, cliJson, lines, type CliResult, type KeyJson } from './cli-helpers.js';
import { uniqueTenant } from '../support/keys.js';

/** Exit code 2, nothing on stdout, exactly one line on stderr: `keyledger: <what is wrong>`. */
function expectUsageError(result: CliResult, message: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(lines(result.stderr)).toHaveLength(1);
  expect(result.stderr).toMatch(/^keyledger: /);
  expect(result.stderr).toMatch(message);
}

describe('keyledger: bad input', () => {
  const tenant = uniqueTenant();
  const create = (...args: string[]): string[] => ['keys', 'create', '--tenant', tenant, '--name', 'never created', ...args];

  it(
    'rejects each with exit code 2 and one clear line, before touching anything',
    async () => {
      const cases: [string[], RegExp][] = [
        [['audit', '--format', 'xml'], /--format must be one of table, ndjson, csv, events-ndjson, got "xml"/],
        [create('--expires', '2030-01-01T00:00:00Z', '--expires-in', '30d'), /give either --expires or --expires-in, not both/],
        [create('--expires-in', '30 days'), /--expires-in must be a duration such as 30d, 24h, 15m or 1h30m, got "30 days"/],
        [create('--tag', 'plan=pro', '--tag', 'k'), /--tag must be key=value, got "k"/],
        [create('--colour', 'blue'), /unknown option '--colour'/],
        [['keys', 'create', '--tenant', tenant], /required option '--name <name>' not specified/],
        [['projections', 'rebuild', 'no-such-projection'], /no projection named "no-such-projection"; known: .*audit-log/],
      ];
      const results = await Promise.all(cases.map(([args]) => cli(args)));
      results.forEach((result, i) => expectUsageError(result, cases[i][1]));

      const page = await cliJson<{ items: KeyJson[] }>(['keys', 'list', '--tenant', tenant, '--include-expired', '--include-revoked']);
      expect(page.items).toEqual([]);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    '--json reports a usage error as {"error":{code,message,details}} on stderr',
    async () => {
      const result = await cli([...create('--tag', 'k'), '--json']);
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(JSON.parse(result.stderr)).toEqual({ error: { code: 'USAGE', message: '--tag must be key=value, got "k"', details: [] } });
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'a value the domain finds malformed (--scope, --tenant) is bad usage: exit 2 and one line naming the flags',
    async () => {
      const result = await cli(['keys', 'create', '--tenant', 'not a tenant!', '--name', 'x', '--scope', 'Not:A:Scope']);
      expectUsageError(result, /^keyledger: --tenant: must be .*; --scope: scope 1 must match /);
      expect(result.stderr).not.toContain('Not:A:Scope');
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'a configuration error is exit 1 and one line, never a stack trace',
    async () => {
      const result = await cli(['keys', 'list'], cliEnv({ KEY_PEPPER: 'too short' }));
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'keyledger: configuration error: KEY_PEPPER must be at least 32 characters (use 32 random bytes, base64 or hex)\n',
      );
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    '--help prints usage and exits 0',
    async () => {
      const result = await cli(['keys', 'create', '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage: keyledger keys create [options]');
      expect(result.stdout).toContain('--expires-in <duration>');
      expect(result.stdout).toContain('--json');
    },
    CLI_TEST_TIMEOUT,
  );
});
