import { readFileSync } from 'node:fs';
import { OPENAPI_TYPES_FILE, renderOpenApiTypes } from '../../scripts/openapi-types.mjs';
import { startAppProcess, type AppProcess } from '../support/app-process.js';

/**
 * The console's API types (console/src/api.gen.ts) are generated from the OpenAPI document and
 * committed: a controller or DTO changed without `npm run openapi:types` fails here, and where the
 * console reads what changed, its build fails too (console/src/types.ts). The document is the one
 * the server a user starts serves (a process of its own: inside jest, @keyledger/nestjs's optional
 * @nestjs/swagger decorators are not in the document a test app serves).
 */
describe("the console's generated API types", () => {
  let server: AppProcess;
  beforeAll(async () => {
    server = await startAppProcess();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('are what openapi-typescript makes of the served document', async () => {
    const served = (await fetch(`${server.url}/docs-json`).then((res) => res.json())) as object;
    const expected = (await renderOpenApiTypes(served)).split('\n');
    const committed = readFileSync(OPENAPI_TYPES_FILE, 'utf8').split('\n');
    // The first line that differs; a committed file longer than the document's differs after its last line.
    const first = expected.findIndex((line, i) => line !== committed[i]);
    const at = first !== -1 ? first : committed.length > expected.length ? expected.length : -1;
    if (at !== -1) {
      throw new Error(
        `console/src/api.gen.ts differs from the served OpenAPI document at line ${at + 1}: run npm run openapi:types and commit the result\n` +
          `committed: ${committed[at] ?? '(end of file)'}\nserved:    ${expected[at] ?? '(end of file)'}`,
      );
    }
  });
});
