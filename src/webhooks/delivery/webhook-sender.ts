import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { checkedLookup, checkUrlShape } from './ssrf.js';

/** The first this many bytes of a response are kept in the delivery log. */
export const RESPONSE_KEPT_BYTES = 1024;

export interface SendResult {
  /** The response's status; null when there was none (refused, unreachable, timed out). */
  status: number | null;
  /** The first 1 KB of the response body (as UTF-8 text). */
  body: string | null;
  /** Why it failed, when it did; null for a 2xx. */
  error: string | null;
}

const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

function readStart(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => resolve(Buffer.concat(chunks).subarray(0, RESPONSE_KEPT_BYTES).toString('utf8'));
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= RESPONSE_KEPT_BYTES) {
        res.destroy(); // the rest is not kept: do not wait for it
        done();
      }
    });
    res.on('end', done);
    res.on('error', done);
    res.on('close', done);
  });
}

/**
 * POSTs one signed message. The URL's rules are checked again now, and the socket connects only
 * to addresses checked at this moment (ssrf.ts). A redirect is a failure, never followed; the whole
 * exchange is bounded by `timeoutMs`.
 */
export function sendWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  allowPrivate: boolean,
): Promise<SendResult> {
  let target: URL;
  try {
    target = checkUrlShape(url, allowPrivate);
  } catch (error) {
    return Promise.resolve({ status: null, body: null, error: `refused: ${(error as Error).message}` });
  }
  const https = target.protocol === 'https:';
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: SendResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = (https ? httpsRequest : httpRequest)(target, {
      method: 'POST',
      agent: https ? httpsAgent : httpAgent,
      lookup: checkedLookup(allowPrivate),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'keyledger-webhooks',
        'content-length': Buffer.byteLength(body),
        ...headers,
      },
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ status: null, body: null, error: `no response within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('response', (res) => {
      void readStart(res).then((text) => {
        const status = res.statusCode ?? 0;
        const error =
          status >= 200 && status < 300 ? null : status >= 300 && status < 400 ? `redirect ${status} refused` : `status ${status}`;
        finish({ status, body: text, error });
      });
    });
    req.on('error', (error) => finish({ status: null, body: null, error: error.message.slice(0, 500) }));
    req.end(body);
  });
}
