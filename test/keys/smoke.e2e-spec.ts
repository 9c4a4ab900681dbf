import request from 'supertest';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';

describe('smoke', () => {
  let sut: TestApp;
  beforeAll(async () => {
    sut = await createTestApp();
  });
  afterAll(() => sut.close());

  it('creates a key and uses it', async () => {
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    const res = await request(sut.url)
      .post('/admin/api-keys')
      .set('authorization', `Bearer ${admin.token}`)
      .send({ tenantId: 'acme', name: 'k', tags: { plan: 'pro' } })
      .expect(201);
    const who = await request(sut.url).get('/examples/whoami').set('x-api-key', res.body.key).expect(200);
    expect(who.body.tags).toEqual({ plan: 'pro' });
  });
});
