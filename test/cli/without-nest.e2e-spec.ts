import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateToken } from '../../src/token/index.js';
import { CLI_TEST_TIMEOUT, cli, cliEnv, lines, tempDataDir, type CliResult } from './cli-helpers.js';

/**
 * Preloaded into the CLI (NODE_OPTIONS): a module hook that writes "loaded Nest: <file>" to stderr
 * the first time the run loads any file of Nest, which only a command that opens the registry needs.
 */
const HOOKS = `
import { writeSync } from 'node:fs';
let reported = false;
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (!reported && resolved.url.includes('/node_modules/@nestjs/')) {
    reported = true;
    writeSync(2, 'loaded Nest: ' + resolved.url + '\\n');
  }
  return resolved;
}`;
const PROBE = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`,
)}`;
const NEST = /^loaded Nest: /m;

describe('keyledger without Nest: help, version, usage errors and scan', () => {
  const dir = tempDataDir();
  afterAll(() => dir.remove());
  // No database: nothing listens on port 1, and DATA_DIR holds no embedded cluster to attach to or start.
  const offline = (): NodeJS.ProcessEnv =>
    cliEnv({ DATABASE_URL: 'postgres://keyledger:keyledger@127.0.0.1:1/keyledger', DATA_DIR: dir.path, NODE_OPTIONS: `--import=${PROBE}` });

  it(
    'the probe sees Nest load for a command that needs the registry',
    async () => {
      const result = await cli(['projections', 'status'], cliEnv({ NODE_OPTIONS: `--import=${PROBE}` }));
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(NEST);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'answers --help at every level and --version without loading Nest or reaching for a database',
    async () => {
      const cases: [string[], RegExp][] = [
        [['--help'], /^Usage: keyledger \[options\] \[command\]\n[\s\S]*^ {2}scan <files\.\.\.>/m],
        [['-h'], /^Usage: keyledger \[options\] \[command\]\n/],
        [['help', 'keys'], /^Usage: keyledger keys \[options\] \[command\]\n/],
        [['keys', '--help'], /^Usage: keyledger keys \[options\] \[command\]\n[\s\S]*^ {2}create \[options\]/m],
        [['keys', 'create', '--help'], /^Usage: keyledger keys create \[options\]\n[\s\S]*--expires-in <duration>[\s\S]*--json/],
        [['audit', 'verify', '-h'], /^Usage: keyledger audit verify \[options\]\n/],
        [['webhooks', 'redeliver', '--help'], /^Usage: keyledger webhooks redeliver \[options\] <id> <deliveryId>\n/],
        [['--version'], /^\d+\.\d+\.\d+\n$/],
      ];
      const results = await Promise.all(cases.map(([args]) => cli(args, offline())));
      results.forEach((result, i) => {
        expect(result).toMatchObject({ code: 0, stderr: '' });
        expect(result.stdout).toMatch(cases[i][1]);
      });
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'refuses bad input with exit 2 and the usual one line, without loading Nest',
    async () => {
      const cases: [string[], RegExp][] = [
        [['nope'], /^keyledger: unknown command 'nope'\n$/],
        [['keys', 'nope'], /^keyledger: unknown command "keyledger keys nope"; see "keyledger keys --help"\n$/],
        [['keys', 'create', '--tenant', 't', '--name', 'n', '--colour', 'blue'], /^keyledger: unknown option '--colour'\n$/],
        [['keys', 'create', '--tenant', 't'], /^keyledger: required option '--name <name>' not specified\n$/],
        [['keys', 'create', '--tenant', 't', '--name', 'n', '--expires-in', '30 days'], /--expires-in must be a duration such as 30d/],
        [['audit', '--format', 'xml'], /^keyledger: --format must be one of table, ndjson, csv, events-ndjson, got "xml"\n$/],
        [['webhooks', 'show'], /^keyledger: missing required argument 'id'\n$/],
        [
          ['keys', 'create', '--tenant', 't', '--name', 'n', '--tag', 'k', '--json'],
          /^\{"error":\{"code":"USAGE","message":"--tag must be key=value, got \\"k\\"","details":\[\]\}\}\n$/,
        ],
      ];
      const results = await Promise.all(cases.map(([args]) => cli(args, offline())));
      results.forEach((result: CliResult, i) => {
        expect(result).toMatchObject({ code: 2, stdout: '' });
        expect(lines(result.stderr)).toHaveLength(1);
        expect(result.stderr).toMatch(cases[i][1]);
      });
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'scans files offline without loading Nest',
    async () => {
      const { token, publicId } = generateToken('kl_live');
      const leaked = join(dir.path, 'leaked.env');
      writeFileSync(leaked, `API_KEY=${token}\n`);
      const clean = join(dir.path, 'clean.txt');
      writeFileSync(clean, 'nothing to see\n');

      const found = await cli(['scan', leaked], offline());
      expect(found.code).toBe(1);
      expect(found.stdout).toBe(`${leaked}:1:9  kl_live  ${publicId}\n`);
      expect(found.stderr).not.toMatch(NEST);
      expect(found.stderr).not.toContain(token);

      expect(await cli(['scan', clean], offline())).toMatchObject({
        code: 0,
        stdout: '',
        stderr: 'no keyledger keys found in 1 input(s)\n',
      });
    },
    CLI_TEST_TIMEOUT,
  );
});
