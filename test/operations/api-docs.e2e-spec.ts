import { existsSync } from 'node:fs';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** What a person or a client generator meets at /docs, and what a test run leaves behind. */
describe('API docs and test hygiene', () => {
  let sut: TestApp;
  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(() => sut?.close());

  it('describes the bearer scheme as a keyledger key, not a JWT', async () => {
    const res = await request(sut.url).get('/docs-json').expect(200);
    const bearer = (res.body as { components: { securitySchemes: Record<string, { bearerFormat?: string }> } }).components.securitySchemes
      .bearer;
    expect(bearer.bearerFormat).toMatch(/keyledger API key/);
    expect(res.text).not.toContain('JWT');
  });

  describe('the OpenAPI document', () => {
    interface Operation {
      security?: Record<string, string[]>[];
      responses: Record<string, { content?: Record<string, { schema?: { $ref?: string; type?: string } }> }>;
    }
    let operations: [string, Operation][];
    beforeAll(async () => {
      const { paths } = (await request(sut.url).get('/docs-json').expect(200)).body as { paths: Record<string, Record<string, Operation>> };
      operations = Object.entries(paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]),
      );
    });

    it('lists each security scheme once per operation', () => {
      const repeated = operations.filter(
        ([, op]) => new Set((op.security ?? []).map((s) => JSON.stringify(s))).size !== (op.security ?? []).length,
      );
      expect(repeated.map(([name]) => name)).toEqual([]);
    });

    it('gives every success response a body schema', () => {
      const bare = operations.flatMap(([name, op]) =>
        Object.entries(op.responses)
          .filter(
            ([status, response]) => status.startsWith('2') && !Object.values(response.content ?? {}).some((c) => c.schema !== undefined),
          )
          .map(([status]) => `${name} ${status}`),
      );
      expect(bare).toEqual([]);
      expect(operations.every(([, op]) => Object.keys(op.responses).some((status) => status.startsWith('2')))).toBe(true);
    });

    it('describes every error in the one shared error shape (the health probes have their own bodies)', () => {
      const health = new Set(['GET /health 503', 'GET /health/ready 503']);
      const other = operations.flatMap(([name, op]) =>
        Object.entries(op.responses)
          .filter(([status]) => /^[45]/.test(status) && !health.has(`${name} ${status}`))
          .filter(
            ([, response]) =>
              JSON.stringify(response.content) !==
              JSON.stringify({ 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } }),
          )
          .map(([status]) => `${name} ${status}`),
      );
      expect(other).toEqual([]);
    });
  });

  it('titles the docs page after the product', async () => {
    const res = await request(sut.url).get('/docs').expect(200);
    expect(res.text).toContain('<title>keyledger API</title>');
  });

  it("removes a test app's data folder when it closes", async () => {
    const other = await createTestApp();
    const dir = other.config.dataDir;
    expect(existsSync(dir)).toBe(true);
    await other.close();
    expect(existsSync(dir)).toBe(false);
  });
});
