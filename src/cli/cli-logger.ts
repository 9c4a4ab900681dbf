import { ConsoleLogger, type LogLevel as NestLogLevel } from '@nestjs/common';
import type { AppConfig, LogLevel } from '../config/index.js';

const LEVELS: Record<LogLevel, NestLogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  verbose: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/**
 * Nest's console logger, but as a command line speaks: every line on stderr (stdout carries only a
 * command's result), one line per message, `keyledger: warn: …`, no colours, pid or timestamp.
 */
export class StderrLogger extends ConsoleLogger {
  constructor(options: { logLevels: NestLogLevel[] }) {
    super({ ...options, colors: false });
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: NestLogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack, params);
  }

  protected override formatMessage(logLevel: NestLogLevel, message: unknown): string {
    const text = this.stringifyMessage(message, logLevel).replace(/\s*\n\s*/g, ' ');
    return `keyledger: ${logLevel === 'log' ? '' : `${logLevel}: `}${text}\n`;
  }
}

/**
 * A CLI run is quiet: warnings and errors only, unless LOG_LEVEL is set explicitly (then it is
 * honoured, still on stderr).
 */
export function cliLogger(config: AppConfig, env: Record<string, string | undefined> = process.env): StderrLogger {
  const level: LogLevel = env.LOG_LEVEL?.trim() ? config.logLevel : 'warn';
  return new StderrLogger({ logLevels: LEVELS[level] });
}
