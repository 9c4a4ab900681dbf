import { appendFileSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** What global-setup.mjs names the run's folder; absent outside jest. */
const runDir = process.env.KEYLEDGER_TEST_RUN_DIR;
/** The (method, route, status) triples this worker has already written. */
const written = new Set<string>();

/**
 * Records, in the run's folder, every (method, route pattern, status) a test app answered, and the
 * app's OpenAPI document: global-teardown.mjs fails the run naming each status an operation
 * answered that its document does not list. Jest runs files in several workers, so each appends
 * its lines (O_APPEND: short lines do not interleave) and writes its own copy of the document.
 */
export function recordResponses(fastify: FastifyInstance): void {
  if (runDir === undefined) return;
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    const line = `${request.method} ${route} ${reply.statusCode}`;
    if (route !== undefined && !written.has(line)) {
      written.add(line);
      appendFileSync(join(runDir, 'responses.log'), `${line}\n`);
    }
    done();
  });
}

/** Writes the document once per worker (renamed into place, so the teardown never reads half of it). */
export async function recordOpenApiDocument(url: string): Promise<void> {
  if (runDir === undefined) return;
  const file = join(runDir, `openapi-${process.pid}.json`);
  if (existsSync(file)) return;
  const document = await fetch(`${url}/docs-json`).then((res) => res.text());
  writeFileSync(`${file}.tmp`, document);
  renameSync(`${file}.tmp`, file);
}
