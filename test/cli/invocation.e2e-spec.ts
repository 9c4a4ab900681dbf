import { exec } from 'node:child_process';
import { join } from 'node:path';
import { CLI_TEST_TIMEOUT, cliEnv, cliJson, type KeyJson } from './cli-helpers.js';
import { uniqueTenant } from '../support/keys.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** A command line typed into a shell in the checkout, with none of the npm_* settings `npm test` passes down. */
function shell(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = cliEnv();
  for (const name of Object.keys(env)) if (name.toLowerCase().startsWith('npm_')) delete env[name];
  return new Promise((resolve) => {
    exec(command, { cwd: ROOT, env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The invocations docs/cli.md gives, run as written: stdout is the CLI's and nothing else's. */
describe('keyledger, invoked as docs/cli.md says', () => {
  const tenant = uniqueTenant();
  let created: KeyJson;

  beforeAll(async () => {
    created = await cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'invoked']);
  }, CLI_TEST_TIMEOUT);

  it(
    'npx keyledger -- --help prints keyledger’s help, not npm’s',
    async () => {
      const result = await shell('npx keyledger -- --help');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: keyledger \[options\] \[command\]\n/);
      expect(result.stdout).toMatch(/^ {2}keys\b/m);
    },
    CLI_TEST_TIMEOUT,
  );

  it.each(['npx keyledger --', 'npm run -s cli --', 'node dist/src/cli/main.js'])(
    '%s keys list --json writes the JSON alone on stdout',
    async (prefix) => {
      const result = await shell(`${prefix} keys list --tenant ${tenant} --json`);
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as { items: KeyJson[] }).items.map((k) => k.id)).toEqual([created.id]);
    },
    CLI_TEST_TIMEOUT,
  );
});
