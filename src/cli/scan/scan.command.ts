import { createReadStream } from 'node:fs';
import { CliCommand, Command } from '../cli-command.js';
import { CommandFailed, UsageError } from '../errors.js';
import { writeErr, writeJson, writeOut } from '../output.js';
import { scanLines, type TokenFinding } from './token-scanner.js';

const STDIN = '-';

/**
 * `keyledger scan <files… | ->`: finds keyledger tokens offline (shape and checksum, no database),
 * printing file, line and publicId, never a secret. Exit 0: none found; 1: tokens found; 2: a file
 * could not be read (what was found elsewhere is still printed).
 */
@Command({
  name: 'scan',
  arguments: '<files...>',
  argsDescription: { files: 'files to read, or - for standard input' },
  description: 'Find keyledger keys in files or standard input (offline: prefix, shape and checksum); exits 1 if it finds any',
})
export class ScanCliCommand extends CliCommand {
  async run(files: string[]): Promise<void> {
    const found: (TokenFinding & { file: string })[] = [];
    const unreadable: string[] = [];
    for (const file of files) {
      const input = file === STDIN ? process.stdin : createReadStream(file);
      try {
        for await (const finding of scanLines(input)) {
          found.push({ file, ...finding });
          if (!this.json) writeOut(`${file}:${finding.line}:${finding.column}  ${finding.prefix}  ${finding.publicId}`);
        }
      } catch (error) {
        unreadable.push(`${file} (${(error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error))})`);
      }
    }
    if (this.json) writeJson(found.map(({ file, line, column, prefix, publicId }) => ({ file, line, column, prefix, publicId })));
    if (unreadable.length > 0) throw new UsageError(`cannot read ${unreadable.join(', ')}`);
    if (found.length === 0) {
      if (!this.json) writeErr(`no keyledger keys found in ${files.length} input(s)`);
      return;
    }
    const keys = new Set(found.map((f) => f.publicId)).size;
    throw new CommandFailed(
      'SCAN.KEYS_FOUND',
      `found ${found.length} keyledger key(s) (${keys} distinct): revoke each one that was exposed, e.g. with "keyledger keys report-leak -"`,
    );
  }
}
