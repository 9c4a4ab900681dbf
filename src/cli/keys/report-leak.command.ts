import { cliCommandContext } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { CommandFailed, inFlagTerms, UsageError } from '../errors.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';

/** More than any token (200 characters): enough to take one pasted line, with room for stray whitespace. */
const MAX_STDIN_BYTES = 4096;

@SubCommand({
  name: 'report-leak',
  arguments: '<token>',
  argsDescription: { token: 'the exposed key, or - to read it from standard input (keeps it out of shell history)' },
  description: 'Report a key found exposed: if it still works it is revoked now (reason code leaked); the token is never printed',
})
export class ReportLeakCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([argument]: string[], options: { sourceUrl?: string }): Promise<void> {
    const token = argument === '-' ? await readStdinToken() : argument.trim();
    const bus = await this.registry.commandBus();
    const { ReportLeakCommand } = await import('../../keys/index.js');
    const source = {
      reason: 'reported leaked with keyledger keys report-leak',
      ...(options.sourceUrl === undefined ? {} : { sourceUrl: options.sourceUrl }),
    };
    const verdict = await inFlagTerms(bus.execute(new ReportLeakCommand(token, source, cliCommandContext())), {
      sourceUrl: '--source-url',
    });
    if (this.json) writeJson(verdict);
    if (verdict.label === 'false_positive') {
      throw new CommandFailed(
        'LEAK.FALSE_POSITIVE',
        'false_positive: not a key of this registry (its prefix, checksum or secret does not match any key); nothing was revoked',
      );
    }
    if (!this.json) {
      writeOut(
        verdict.revoked
          ? `true_positive: key ${verdict.publicId} (${verdict.keyId}) is revoked now, reason code leaked`
          : `true_positive: key ${verdict.publicId} (${verdict.keyId}) no longer works (revoked, expired, or this secret was rotated out); nothing to revoke`,
      );
    }
  }

  @Option({ flags: '--source-url <url>', description: 'where the key was found (an http(s) URL), recorded in the KeyRevoked event' })
  parseSourceUrl(value: string): string {
    return value;
  }
}

async function readStdinToken(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > MAX_STDIN_BYTES) {
      throw new UsageError(`standard input holds more than one key (over ${MAX_STDIN_BYTES} characters); give one key`);
    }
  }
  const token = text.trim();
  if (token === '') throw new UsageError('standard input is empty: pipe or paste the key, then end with Ctrl-D');
  return token;
}
