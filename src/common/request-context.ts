import { randomUUID } from 'node:crypto';
import { containsToken, redactTokens } from '@keyledger/nestjs';

interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
  /** Fastify's request id (from a valid x-request-id, or generated): the same id the logs carry. */
  id?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The caller's request id (when well-formed), IP and user agent: recorded in event metadata, which
 * is append-only, so a key pasted into either header must never reach it.
 */
export function requestInfo(request: RequestLike): { requestId: string; ip?: string; userAgent?: string } {
  const header = request.headers['x-request-id'];
  const userAgent = request.headers['user-agent'];
  return {
    requestId: request.id ?? (typeof header === 'string' && REQUEST_ID.test(header) && !containsToken(header) ? header : randomUUID()),
    ...(request.ip ? { ip: request.ip } : {}),
    ...(typeof userAgent === 'string' && userAgent ? { userAgent: redactTokens(userAgent).slice(0, 512) } : {}),
  };
}
