import type { FieldError } from '../common/index.js';
import { redactTokens } from '@keyledger/nestjs/token-format';

/** Bad command-line input: an unknown option, a malformed value, options that exclude each other. Exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command that ran but found a problem it reports as its result (e.g. a broken audit chain). Exit 1. */
export class CommandFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandFailed';
  }
}

/**
 * The domain names fields as the HTTP API does (`tenantId`, `scopes`); a CLI user typed flags.
 * Rewrites a ValidationError's fields into the flags that carried them.
 */
export async function inFlagTerms<T>(work: Promise<T>, flags: Record<string, string>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const { ValidationError } = await import('../common/index.js');
    if (!(error instanceof ValidationError) || !error.details) throw error;
    const flagOf = (field: string): string => {
      const root = /^[^.[]+/.exec(field)?.[0] ?? field;
      return flags[root] === undefined ? field : `${flags[root]}${field.slice(root.length)}`;
    };
    throw ValidationError.of(error.details.map((d) => ({ field: flagOf(d.field), message: d.message })));
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface ErrorReport {
  exitCode: number;
  code: string;
  message: string;
  details: FieldError[];
}

/** What commander throws (through exitOverride): duck-typed, its class is not part of our API. */
interface CommanderLikeError {
  code: string;
  exitCode: number;
  message: string;
}

export function isCommanderError(error: unknown): error is CommanderLikeError {
  if (!(error instanceof Error)) return false;
  const { code, exitCode } = error as Partial<CommanderLikeError>;
  return typeof code === 'string' && code.startsWith('commander.') && typeof exitCode === 'number';
}

/** Help and --version end the parse with an "error" whose exit code is 0. */
export function isCleanExit(error: unknown): boolean {
  return isCommanderError(error) && error.exitCode === 0;
}

/** One line: commander's messages start with "error: " and may add a "(Did you mean …?)" line. */
function oneLine(text: string): string {
  return text
    .replace(/^error: /, '')
    .split(/\r?\n/)
    .map((part) => part.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * What a failure means for the user. Parsing fails with the CLI's own errors; only a command that
 * loaded the registry's modules can fail with theirs, so their classes are loaded only then.
 */
export async function toErrorReport(error: unknown): Promise<ErrorReport> {
  if (isCommanderError(error) || error instanceof UsageError) {
    return { exitCode: EXIT_USAGE, code: 'USAGE', message: oneLine(error.message), details: [] };
  }
  if (error instanceof CommandFailed) {
    return { exitCode: EXIT_FAILURE, code: error.code, message: oneLine(error.message), details: [] };
  }
  const [{ DomainError }, { ConfigError }, { UnknownProjectionError }] = await Promise.all([
    import('../common/index.js'),
    import('../config/index.js'),
    import('../event-store/index.js'),
  ]);
  if (error instanceof UnknownProjectionError) {
    return { exitCode: EXIT_USAGE, code: 'USAGE', message: oneLine(error.message), details: [] };
  }
  if (error instanceof DomainError) {
    // A value the domain finds malformed (a scope, a tenant id, an expiry in the past) is bad usage too.
    const exitCode = error.kind === 'validation' ? EXIT_USAGE : EXIT_FAILURE;
    return { exitCode, code: error.code, message: oneLine(error.message), details: error.details ?? [] };
  }
  if (error instanceof ConfigError) {
    return { exitCode: EXIT_FAILURE, code: 'CONFIG', message: `configuration error: ${oneLine(error.message)}`, details: [] };
  }
  const message = error instanceof Error ? error.message || error.name : String(error);
  return { exitCode: EXIT_FAILURE, code: 'INTERNAL', message: oneLine(message) || 'unexpected error', details: [] };
}

/**
 * The one line (or one JSON object) a failed command writes to stderr. Messages may echo input,
 * and input may be a pasted key: anything key-shaped is redacted.
 */
export function formatError(report: ErrorReport, json: boolean): string {
  const message = redactTokens(report.message);
  // As the HTTP API gives them: a policy violation's rule, limit and got too.
  const details = report.details.map((d) => ({ ...d, field: redactTokens(d.field), message: redactTokens(d.message) }));
  if (json) return `${JSON.stringify({ error: { code: report.code, message, details } })}\n`;
  // A ValidationError's message already lists its fields; add only what it does not say.
  const extra = details.map((d) => `${d.field}: ${d.message}`).filter((d) => !message.includes(d));
  return `keyledger: ${[message, ...extra].join('; ')}\n`;
}
