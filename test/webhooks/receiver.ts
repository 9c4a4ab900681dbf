import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface Received {
  at: number;
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body, parsed. */
  message: { type: string; timestamp: string; data: Record<string, unknown> };
}

/** What the receiver answers a request with: a status, a status later, or `hang` (never answers). */
export type Answer = number | Promise<number> | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  /** TCP connections accepted (an SSRF refusal opens none). */
  connections(): number;
  /** Every message whose signature the `standardwebhooks` verifier accepts with `secret`; throws on any other. */
  verifiedWith(secret: string): Received[];
  close(): Promise<void>;
}

/**
 * A real HTTP receiver in the test process, on 127.0.0.1. `answer` decides each response (200 by
 * default) from the request and how many came before it.
 */
export async function startReceiver(answer: (request: Received, index: number) => Answer = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Received = {
        at: Date.now(),
        id: String(req.headers['webhook-id']),
        headers: req.headers,
        body,
        message: JSON.parse(body) as Received['message'],
      };
      received.push(r);
      const a = answer(r, received.length - 1);
      if (a === 'hang') return;
      void Promise.resolve(a).then((status) =>
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'x'.repeat(3000)),
      );
    });
  });
  server.on('connection', () => void connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    connections: () => connections,
    verifiedWith(secret: string): Received[] {
      const verifier = new Webhook(secret);
      for (const r of received) {
        verifier.verify(r.body, {
          'webhook-id': String(r.headers['webhook-id']),
          'webhook-timestamp': String(r.headers['webhook-timestamp']),
          'webhook-signature': String(r.headers['webhook-signature']),
        });
      }
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
