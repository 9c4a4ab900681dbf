// Run by global-teardown.mjs (plain node, outside jest's module system).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Each (operation, status) a test app answered during the run (test/support/response-log.ts) that
 * the app's OpenAPI document does not list, as `GET /admin/audit 503` lines. Routes the document
 * leaves out on purpose (/docs, the console's pages) and requests no route matched are not checked.
 */
export function undocumentedResponses(runDir) {
  const log = join(runDir, 'responses.log');
  if (!existsSync(log)) return [];
  const documentFile = readdirSync(runDir).find((name) => /^openapi-\d+\.json$/.test(name));
  if (documentFile === undefined) throw new Error(`responses were recorded in ${log} but no OpenAPI document beside them`);
  const { paths } = JSON.parse(readFileSync(join(runDir, documentFile), 'utf8'));
  const missing = new Set();
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const [method, route, status] = line.split(' ');
    // Fastify's `/admin/api-keys/:id` is OpenAPI's `/admin/api-keys/{id}`.
    const operation = paths[route.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
    if (operation !== undefined && !(status in operation.responses)) missing.add(line);
  }
  return [...missing].sort();
}
