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
    const bearer = (res.body as { components: { securitySchemes: Record<string, { bearerFormat?: string }> } }).components.securitySchemes.bearer;
    expect(bearer.bearerFormat).toMatch(/keyledger API key/);
    expect(res.text).not.toContain('JWT');
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
