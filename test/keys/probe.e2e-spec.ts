import request from 'supertest';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';

describe('probe', () => {
  let sut: TestApp;
  beforeAll(async () => { sut = await createTestApp(); });
  afterAll(() => sut.close());

  it('probes', async () => {
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    const auth = { authorization: `Bearer ${admin.token}` };
    const show = (label: string, r: request.Response) => console.log(label, r.status, JSON.stringify(r.headers['content-type']), r.text.slice(0, 400));
    show('413', await request(sut.url).post('/admin/api-keys').set(auth).set('content-type', 'application/json').send(JSON.stringify({ tenantId: 'x', name: 'a'.repeat(1024 * 1024) })));
    show('413-noauth', await request(sut.url).post('/admin/api-keys').set('content-type', 'application/json').send(JSON.stringify({ tenantId: 'x', name: 'a'.repeat(1024 * 1024) })));
    show('badjson', await request(sut.url).post('/admin/api-keys').set(auth).set('content-type', 'application/json').send(`{"name": ${admin.token}`));
    let nested: unknown = { a: 1 };
    for (let i = 0; i < 100; i++) nested = { a: nested };
    show('nested', await request(sut.url).post('/admin/api-keys').set(auth).send({ tenantId: 'x', name: 'n', tags: nested }));
    show('key-as-id', await request(sut.url).get(`/admin/api-keys/${admin.token}`).set(auth));
    show('scope-echo', await request(sut.url).post('/admin/api-keys').set(auth).send({ tenantId: 'x', name: 'n', scopes: [admin.token] }));
    show('tag-echo', await request(sut.url).post('/admin/api-keys').set(auth).send({ tenantId: 'x', name: 'n', tags: { [admin.token]: 5 } }));
    show('unknown', await request(sut.url).post('/admin/api-keys').set(auth).send({ tenantId: 'x', name: 'n', foo: 1 }));
    show('types', await request(sut.url).post('/admin/api-keys').set(auth).send({ tenantId: 'x', name: 5, scopes: 'x', tags: [] }));
    show('nobody', await request(sut.url).post('/admin/api-keys').set(auth));
    show('array', await request(sut.url).post('/admin/api-keys').set(auth).send([1,2]));
    show('text', await request(sut.url).post('/admin/api-keys').set(auth).set('content-type', 'text/plain').send('hi'));
    show('route404', await request(sut.url).get(`/nope/${admin.token}`).set(auth));
    show('noauth', await request(sut.url).get(`/admin/api-keys`));
    show('ifmatch', await request(sut.url).patch(`/admin/api-keys/${admin.id}`).set(auth).set('if-match', 'zzz').send({ name: 'x' }));
    show('badcursor', await request(sut.url).get(`/admin/api-keys?cursor=abc`).set(auth));
    show('limit', await request(sut.url).get(`/admin/api-keys?limit=0`).set(auth));
    show('tenant-long', await request(sut.url).post('/admin/api-keys').set(auth).send({ tenantId: 'x'.repeat(65), name: 'n' }));
    show('whoami', await request(sut.url).get('/examples/whoami?tags=evil').set(auth).set('tags', '{"a":"b"}').set('x-tags', 'a=b'));
    show('proto', await request(sut.url).post('/admin/api-keys').set(auth).set('content-type', 'application/json').send('{"tenantId":"x","name":"n","__proto__":{"a":1}}'));
    show('ctor', await request(sut.url).post('/admin/api-keys').set(auth).send({ tenantId: 'x', name: 'n', tags: { constructor: 'x' } }));
    show('revoke-reason', await request(sut.url).post(`/admin/api-keys/${admin.id}/revoke`).set(auth).send({ reason: 5 }));
    show('null-name', await request(sut.url).patch(`/admin/api-keys/${admin.id}`).set(auth).send({ name: null }));
    show('null-scopes', await request(sut.url).patch(`/admin/api-keys/${admin.id}`).set(auth).send({ scopes: null, tags: null }));
    console.log(sut.logs);
  });
});
