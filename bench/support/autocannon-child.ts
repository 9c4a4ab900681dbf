/**
 * The load generator of bench:http, in its own process: forked by autocannon-runner.ts, it runs
 * one autocannon per message and sends back the figures. A separate process gets its own core
 * on a 2-core machine instead of sharing the server's event loop.
 */
import autocannon from 'autocannon';
import type { LoadRequest, LoadResult } from './autocannon-runner.js';

async function run(request: LoadRequest): Promise<LoadResult> {
  const result = await autocannon({
    url: request.url,
    connections: request.connections,
    duration: request.seconds,
    headers: request.headers,
  });
  return {
    id: request.id,
    requests: result.requests.total,
    seconds: result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    bytes: result.throughput.total,
  };
}

process.on('message', (message: LoadRequest) => {
  run(message).then(
    (result) => process.send?.(result),
    (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
