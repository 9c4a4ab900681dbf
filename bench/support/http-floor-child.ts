/**
 * bench:webhooks' HTTP floor, in a process of its own as the dispatcher is: `count` POSTs of
 * `bodyBytes` bytes to `url`, `concurrency` at a time over one keep-alive agent, nothing else
 * (no database, no signing). Prints `{ perSecond }` as JSON on stdout.
 * Usage: node http-floor-child.js <url> <count> <concurrency> <bodyBytes>
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const [url, count, concurrency, bodyBytes] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const agent = new Agent({ keepAlive: true });
const body = JSON.stringify({ type: 'key.created', data: 'x'.repeat(Math.max(0, bodyBytes - 40)) });

function post(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'webhook-id': `floor_${i}` },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await post(next++);
    }),
  );
  process.stdout.write(JSON.stringify({ perSecond: (count / (performance.now() - started)) * 1000 }));
  agent.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(String(error));
  process.exitCode = 1;
});
