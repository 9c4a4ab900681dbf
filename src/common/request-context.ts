import { randomUUID } from 'node:crypto';

interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id (when well-formed), IP and user agent: recorded in event metadata. */
export function requestInfo(request: RequestLike): { requestId: string; ip?: string; userAgent?: string } {
  const header = request.headers['x-request-id'];
  const userAgent = request.headers['user-agent'];
  return {
    requestId: typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID(),
    ...(request.ip ? { ip: request.ip } : {}),
    ...(typeof userAgent === 'string' && userAgent ? { userAgent: userAgent.slice(0, 512) } : {}),
  };
}
