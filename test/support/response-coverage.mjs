// Plain ES module: used by test apps (test-app.ts), by the servers app-process.ts starts (through
// record-responses.mjs) and by global-teardown.mjs, which runs outside jest's module system.
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where global-setup.mjs put this run's files; absent outside a jest run. */
const runDir = process.env.KEYLEDGER_TEST_RUN_DIR;

/**
 * Appends each (method, route pattern, status) the server answers to the run's responses.log
 * (O_APPEND: jest's workers and the servers they start write short lines that do not interleave).
 */
export function recordResponses(fastify) {
  if (runDir === undefined) return;
  const written = new Set();
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

/** Keeps the server's OpenAPI document beside the log, once per process (renamed into place: never read half-written). */
export async function recordOpenApiDocument(url) {
  if (runDir === undefined) return;
  const file = join(runDir, `openapi-${process.pid}.json`);
  if (existsSync(file)) return;
  const document = await fetch(`${url}/docs-json`).then((res) => res.text());
  writeFileSync(`${file}.tmp`, document);
  renameSync(`${file}.tmp`, file);
}

/**
 * Each (operation, status) answered during the run that the OpenAPI document does not list, as
 * `GET /admin/audit 503` lines. Routes the document leaves out on purpose (/docs, the console's
 * pages) and requests no route matched are not checked.
 */
export function undocumentedResponses(dir) {
  const log = join(dir, 'responses.log');
  if (!existsSync(log)) return [];
  const documentFile = readdirSync(dir).find((name) => /^openapi-\d+\.json$/.test(name));
  if (documentFile === undefined) throw new Error(`responses were recorded in ${log} but no OpenAPI document beside them`);
  const { paths } = JSON.parse(readFileSync(join(dir, documentFile), 'utf8'));
  const missing = new Set();
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const [method, route, status] = line.split(' ');
    // Fastify's `/admin/api-keys/:id` is OpenAPI's `/admin/api-keys/{id}`.
    const operation = paths[route.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
    if (operation !== undefined && !(status in operation.responses)) missing.add(line);
  }
  return [...missing].sort();
}
