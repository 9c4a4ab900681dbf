import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The prefix of every folder a test makes in the system's temp directory during this jest run
 * (`keyledger-test-r<run>-`, the run set by global-setup.mjs): global-teardown.mjs fails the run if
 * one is still there, and runs in other worktrees at the same time never count as this run's.
 */
export function testTempPrefix(): string {
  return `keyledger-test-r${process.env.KEYLEDGER_TEST_RUN ?? 'none'}-`;
}

/** A new empty folder under the system's temp directory. The test that makes it removes it. */
export function makeTestTempDir(): string {
  return mkdtempSync(join(tmpdir(), testTempPrefix()));
}
