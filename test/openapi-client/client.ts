// A client as a user of the API would write it: types generated from the OpenAPI document by
// openapi-typescript, calls through openapi-fetch. openapi-client.e2e-spec.ts generates the types,
// compiles this with tsc (strict) and runs it against a test server: `tsc` proves each success
// body has the fields read here, with these types; the run proves the server sends them.
// Usage: node client.js <baseUrl> <admin key>
import createClient from 'openapi-fetch';
import type { paths } from './keyledger.js';

const [baseUrl, adminKey] = process.argv.slice(2);
const api = createClient<paths>({ baseUrl, headers: { 'x-api-key': adminKey } });

type Guard<T> = (value: unknown) => value is T;
const isString: Guard<string> = (v): v is string => typeof v === 'string';
const isNumber: Guard<number> = (v): v is number => typeof v === 'number';
const isBoolean: Guard<boolean> = (v): v is boolean => typeof v === 'boolean';
const isObject: Guard<Record<string, unknown>> = (v): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const oneOf =
  <const V extends readonly unknown[]>(...values: V): Guard<V[number]> =>
  (v): v is V[number] =>
    values.includes(v);
const nullable =
  <T>(is: Guard<T>): Guard<T | null> =>
  (v): v is T | null =>
    v === null || is(v);
const optional =
  <T>(is: Guard<T>): Guard<T | undefined> =>
  (v): v is T | undefined =>
    v === undefined || is(v);
const arrayOf =
  <T>(is: Guard<T>): Guard<T[]> =>
  (v): v is T[] =>
    Array.isArray(v) && v.every(is);
const recordOf =
  <T>(is: Guard<T>): Guard<Record<string, T>> =>
  (v): v is Record<string, T> =>
    isObject(v) && Object.values(v).every(is);
const isChange: Guard<{ from: unknown; to: unknown }> = (v): v is { from: unknown; to: unknown } => isObject(v) && 'from' in v && 'to' in v;
const isActorType = oneOf('api-key', 'cli', 'system');

type Actor = { type: 'api-key' | 'cli' | 'system' | null; id: string | null; publicId: string | null; name: string | null };
function readActor(label: string, actor: Actor): void {
  read(`${label}.type`, actor.type, nullable(isActorType));
  read(`${label}.id`, actor.id, nullable(isString));
  read(`${label}.publicId`, actor.publicId, nullable(isString));
  read(`${label}.name`, actor.name, nullable(isString));
}

/** The field as the generated type has it, checked against what the server sent. */
function read<T>(label: string, value: T, is: Guard<NoInfer<T>>): T {
  if (!is(value)) throw new Error(`${label}: the server sent ${JSON.stringify(value)}, not what the OpenAPI document promises`);
  return value;
}

/** The success body, or a failure naming the operation and what the server answered. */
function ok<D>(operation: string, result: { data?: D; error?: unknown; response: Response }): D {
  if (result.data === undefined) throw new Error(`${operation}: ${result.response.status} ${JSON.stringify(result.error)}`);
  return result.data;
}

type Key = paths['/admin/api-keys/{id}']['get']['responses']['200']['content']['application/json'];
function readKey(label: string, key: Key): void {
  read(`${label}.id`, key.id, isString);
  read(`${label}.publicId`, key.publicId, isString);
  read(`${label}.name`, key.name, isString);
  read(`${label}.tenantId`, key.tenantId, isString);
  read(`${label}.scopes`, key.scopes, arrayOf(isString));
  read(`${label}.tags`, key.tags, recordOf(isString));
  read(`${label}.status`, key.status, oneOf('active', 'expired', 'revoked'));
  read(`${label}.expiresAt`, key.expiresAt, nullable(isString));
  read(`${label}.graceEndsAt`, key.graceEndsAt, nullable(isString));
  read(`${label}.createdAt`, key.createdAt, isString);
  read(`${label}.updatedAt`, key.updatedAt, isString);
  read(`${label}.version`, key.version, isNumber);
  read(`${label}.reason`, key.reason, nullable(isString));
  read(
    `${label}.reasonCode`,
    key.reasonCode,
    nullable(oneOf('compromised', 'leaked', 'superseded', 'unused', 'policy', 'offboarding', 'other')),
  );
}

async function main(): Promise<void> {
  const live = ok('GET /health/live', await api.GET('/health/live'));
  read('live.status', live.status, oneOf('ok'));
  const ready = ok('GET /health/ready', await api.GET('/health/ready'));
  read('ready.status', ready.status, oneOf('ready', 'not-ready'));
  read('ready.reasons', ready.reasons, arrayOf(isString));
  const health = ok('GET /health', await api.GET('/health'));
  read('health.status', health.status, oneOf('ok', 'degraded', 'down'));
  read('health.database.ok', health.database.ok, isBoolean);
  read('health.database.latencyMs', health.database.latencyMs, optional(isNumber));
  read('health.listen.connected', health.listen.connected, isBoolean);
  read('health.listen.reconnects', health.listen.reconnects, isNumber);
  read('health.replica.keys', health.replica.keys, isNumber);
  read('health.replica.lastSyncAt', health.replica.lastSyncAt, nullable(isString));
  read('health.replica.listening', health.replica.listening, isBoolean);
  read('health.replica.reconnects', health.replica.reconnects, isNumber);
  read('health.replica.lookups', health.replica.lookups, isNumber);
  read('health.replica.staleForMs', health.replica.staleForMs, isNumber);
  read('health.replica.failingClosed', health.replica.failingClosed, isBoolean);
  for (const p of health.projections) {
    read('projection.name', p.name, isString);
    read('projection.kind', p.kind, oneOf('inline', 'async'));
    read('projection.state', p.state, oneOf('inline', 'idle', 'running', 'retrying', 'halted', 'stopped'));
    read('projection.lag', p.lag, isNumber);
    read('projection.checkpoint.position', p.checkpoint?.position, optional(isNumber));
    read('projection.checkpoint.transactionId', p.checkpoint?.transactionId, optional(isString));
  }
  read('health.unreadableEvents', health.unreadableEvents, isNumber);

  const tenantId = `t-openapi-${Date.now()}`;
  const create = (name: string) =>
    api.POST('/admin/api-keys', { body: { tenantId, name, scopes: ['reports:read'], tags: { team: 'a' }, expiresInDays: 30 } });
  const created = ok('POST /admin/api-keys', await create('first'));
  readKey('created', created);
  const secret = read('created.key', created.key, nullable(isString));
  const page = ok('GET /admin/api-keys', await api.GET('/admin/api-keys', { params: { query: { tenantId, status: 'all', limit: 10 } } }));
  page.items.forEach((key, i) => readKey(`list.items[${i}]`, key));
  read('list.nextCursor', page.nextCursor, nullable(isString));
  const id = { params: { path: { id: created.id } } };
  readKey('get', ok('GET /admin/api-keys/{id}', await api.GET('/admin/api-keys/{id}', id)));
  readKey('patch', ok('PATCH /admin/api-keys/{id}', await api.PATCH('/admin/api-keys/{id}', { ...id, body: { name: 'renamed' } })));
  const rotated = ok(
    'POST /admin/api-keys/{id}/rotate',
    await api.POST('/admin/api-keys/{id}/rotate', { ...id, body: { gracePeriodSeconds: 0 } }),
  );
  readKey('rotate', rotated);
  const token = read('rotate.key', rotated.key, nullable(isString)) ?? secret ?? '';

  const verified = ok('POST /v1/keys/verify', await api.POST('/v1/keys/verify', { body: { key: token, scopes: ['reports:read'] } }));
  read('verify.valid', verified.valid, oneOf(true));
  read('verify.code', verified.code, oneOf('VALID', 'NOT_FOUND', 'MALFORMED', 'EXPIRED', 'REVOKED', 'INSUFFICIENT_SCOPE'));
  read('verify.keyId', verified.keyId, optional(isString));
  read('verify.publicId', verified.publicId, optional(isString));
  read('verify.tenantId', verified.tenantId, optional(isString));
  read('verify.scopes', verified.scopes, optional(arrayOf(isString)));
  read('verify.tags', verified.tags, optional(recordOf(isString)));
  read('verify.expiresAt', verified.expiresAt, optional(nullable(isString)));
  const asKey = { headers: { 'x-api-key': token } };
  const me = ok('GET /examples/whoami', await api.GET('/examples/whoami', asKey));
  read('whoami.keyId', me.keyId, isString);
  read('whoami.publicId', me.publicId, isString);
  read('whoami.tenantId', me.tenantId, isString);
  read('whoami.scopes', me.scopes, arrayOf(isString));
  read('whoami.tags', me.tags, recordOf(isString));
  read('whoami.expiresAt', me.expiresAt, nullable(isString));
  const reports = ok('GET /examples/reports', await api.GET('/examples/reports', asKey));
  read('reports.tenantId', reports.tenantId, isString);
  read('reports.tags', reports.tags, recordOf(isString));
  read('reports.reports', reports.reports, arrayOf(isString));

  const history = ok('GET /admin/api-keys/{id}/events', await api.GET('/admin/api-keys/{id}/events', id));
  for (const [i, e] of history.items.entries()) {
    read(`events[${i}].type`, e.type, isString);
    read(`events[${i}].version`, e.version, isNumber);
    read(`events[${i}].position`, e.position, isNumber);
    read(`events[${i}].occurredAt`, e.occurredAt, isString);
    read(`events[${i}].recordedAt`, e.recordedAt, isString);
    if (e.actor !== null) readActor(`events[${i}].actor`, e.actor);
    read(`events[${i}].requestId`, e.requestId, nullable(isString));
    read(`events[${i}].ip`, e.ip, nullable(isString));
    read(`events[${i}].userAgent`, e.userAgent, nullable(isString));
    read(`events[${i}].reason`, e.reason, nullable(isString));
    read(`events[${i}].changes`, e.changes, recordOf(isChange));
    read(`events[${i}].unknown.schemaVersion`, e.unknown?.schemaVersion, optional(isNumber));
    read(`events[${i}].unknown.problem`, e.unknown?.problem, optional(isString));
  }
  read('events.nextCursor', history.nextCursor, nullable(isString));
  readKey(
    'revoke',
    ok(
      'POST /admin/api-keys/{id}/revoke',
      await api.POST('/admin/api-keys/{id}/revoke', { ...id, body: { reason: 'done', reasonCode: 'superseded' } }),
    ),
  );
  const second = ok('POST /admin/api-keys', await create('second'));
  readKey(
    'expire',
    ok('POST /admin/api-keys/{id}/expire', await api.POST('/admin/api-keys/{id}/expire', { params: { path: { id: second.id } } })),
  );
  const third = ok('POST /admin/api-keys', await create('third'));
  readKey('delete', ok('DELETE /admin/api-keys/{id}', await api.DELETE('/admin/api-keys/{id}', { params: { path: { id: third.id } } })));

  const session = ok('GET /console/api/session', await api.GET('/console/api/session'));
  read('session.keyId', session.keyId, isString);
  read('session.publicId', session.publicId, isString);
  read('session.name', session.name, nullable(isString));
  read('session.tenantId', session.tenantId, isString);
  read('session.scopes', session.scopes, arrayOf(isString));
  read('session.expiresAt', session.expiresAt, nullable(isString));
  read('session.admin', session.admin, isBoolean);
  read('session.canManageKeys', session.canManageKeys, isBoolean);
  read('session.canReadAudit', session.canReadAudit, isBoolean);
  read('session.canManageWebhooks', session.canManageWebhooks, isBoolean);

  const audit = ok('GET /admin/audit', await api.GET('/admin/audit', { params: { query: { limit: 5 } } }));
  for (const [i, e] of audit.items.entries()) {
    read(`audit[${i}].seq`, e.seq, isNumber);
    read(`audit[${i}].position`, e.position, isNumber);
    read(`audit[${i}].recordedAt`, e.recordedAt, isString);
    read(`audit[${i}].occurredAt`, e.occurredAt, isString);
    read(`audit[${i}].type`, e.type, isString);
    read(`audit[${i}].keyId`, e.keyId, nullable(isString));
    read(`audit[${i}].publicId`, e.publicId, nullable(isString));
    read(`audit[${i}].tenantId`, e.tenantId, nullable(isString));
    readActor(`audit[${i}].actor`, e.actor);
    read(`audit[${i}].requestId`, e.requestId, nullable(isString));
    read(`audit[${i}].ip`, e.ip, nullable(isString));
    read(`audit[${i}].userAgent`, e.userAgent, nullable(isString));
    read(`audit[${i}].reason`, e.reason, nullable(isString));
    read(`audit[${i}].changes`, e.changes, recordOf(isChange));
    read(`audit[${i}].chainHash`, e.chainHash, isString);
  }
  read('audit.nextCursor', audit.nextCursor, nullable(isString));
  read(
    'export',
    ok('GET /admin/audit/export', await api.GET('/admin/audit/export', { params: { query: { format: 'csv' } }, parseAs: 'text' })),
    isString,
  );
  const digest = ok('GET /admin/audit/digest', await api.GET('/admin/audit/digest'));
  read('digest.position', digest.position, isNumber);
  read('digest.events', digest.events, isNumber);
  read('digest.chainHash', digest.chainHash, isString);
  read('digest.at', digest.at, isString);
  read('digest.digest', digest.digest, isString);
  const chain = ok('GET /admin/audit/verify', await api.GET('/admin/audit/verify', { params: { query: { fromDigest: digest.digest } } }));
  read('verify.ok', chain.ok, isBoolean);
  read('verify.checkedEvents', chain.checkedEvents, isNumber);
  read('verify.headPosition', chain.headPosition, isNumber);
  read('verify.chainHash', chain.chainHash, isString);
  read('verify.firstMismatch.reason', chain.firstMismatch?.reason, optional(isString));
  read('verify.digest.matches', chain.digest?.matches, optional(isBoolean));
  const access = ok('GET /admin/audit/access', await api.GET('/admin/audit/access', { params: { query: { limit: 5 } } }));
  for (const [i, a] of access.items.entries()) {
    read(`access[${i}].id`, a.id, isNumber);
    read(`access[${i}].recordedAt`, a.recordedAt, isString);
    read(`access[${i}].outcome`, a.outcome, oneOf('allowed', 'refused'));
    read(`access[${i}].status`, a.status, isNumber);
    read(`access[${i}].code`, a.code, isString);
    read(`access[${i}].route`, a.route, isString);
    read(`access[${i}].target`, a.target, nullable(isString));
    read(`access[${i}].actor.keyId`, a.actor.keyId, isString);
    read(`access[${i}].actor.publicId`, a.actor.publicId, isString);
    read(`access[${i}].actor.tenantId`, a.actor.tenantId, isString);
    read(`access[${i}].requestId`, a.requestId, isString);
    read(`access[${i}].ip`, a.ip, nullable(isString));
    read(`access[${i}].userAgent`, a.userAgent, nullable(isString));
  }
  read('access.nextCursor', access.nextCursor, nullable(isString));
  // A stream that stays open: its headers are the answer; the body is let go at once.
  const tail = await api.GET('/console/api/audit/tail', { parseAs: 'stream' });
  await tail.response.body?.cancel();
  if (tail.response.status !== 200) throw new Error(`GET /console/api/audit/tail: ${tail.response.status}`);
}

main().then(
  () => console.log('every operation answered as documented'),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
