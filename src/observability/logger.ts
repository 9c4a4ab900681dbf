import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';
import { redactTokens, redactUrl } from '@keyledger/nestjs';
import type { LogLevel } from '../config/index.js';

/** Anything shaped like a keyledger token (any prefix): never written to a log, whatever carries it. */
export const scrub = redactTokens;

/** Structured fields that may hold a key, wherever they appear in a log object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'body.key',
  'key',
  'token',
  '*.key',
  '*.token',
  '*.secret',
];

const PINO_LEVEL: Record<LogLevel, string> = { error: 'error', warn: 'warn', info: 'info', debug: 'debug', verbose: 'trace' };

function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { type: value.name, message: scrub(value.message), stack: value.stack && scrub(value.stack) };
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  // Framework objects (a request, a reply) are left to pino's serializers, which scrub what they keep.
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, depth + 1)]));
}

/** JSON logs; every string argument and field is scrubbed of keys, and key-bearing fields are redacted. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level: PINO_LEVEL[level],
      base: { service: 'keyledger' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => scrubDeep(a)) as Parameters<typeof method>);
        },
      },
      serializers: {
        // Fastify's request log: method and path, and a query string only with keys scrubbed out, however encoded.
        req: (req: { method?: string; url?: string; ip?: string; id?: string }) => ({
          method: req.method,
          url: req.url && redactUrl(req.url),
          remoteAddress: req.ip,
        }),
      },
    },
    destination,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Nest's start-up chatter (a line per module and per route): useful when debugging, noise otherwise. */
const FRAMEWORK_CHATTER = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

/** Nest's logger API on top of pino, so framework, app and request logs are one JSON stream. */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly logger: Logger) {}

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    const extra = context === undefined ? rest : rest.slice(0, -1);
    const fields: Record<string, unknown> = context ? { context } : {};
    if (level === 'error' && typeof extra[0] === 'string' && extra[0].includes('\n')) fields.stack = extra[0];
    // A plain object is a structured record (`{ msg, event, outcome, … }`): its fields stay fields.
    if (isPlainObject(message)) this.logger[level]({ ...fields, ...message });
    else this.logger[level](fields, typeof message === 'string' ? message : JSON.stringify(scrubDeep(message)));
  }

  log(message: unknown, ...rest: unknown[]): void {
    const context = rest[rest.length - 1];
    this.write(typeof context === 'string' && FRAMEWORK_CHATTER.has(context) ? 'debug' : 'info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
}
