import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { KeyVerifier } from '@keyledger/nestjs';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { CLI_TEST_TIMEOUT, cli, cliJson, cliOk, lines, TOKEN, UUID, type KeyJson } from './cli-helpers.js';
import { uniqueTenant } from '../support/keys.js';
import { eventually } from '../support/poll.js';
import { bearer } from '../support/http.js';
import { REASON_CODES } from '../../src/keys/index.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAY = 86_400_000;

/** The row of `id` in a table, or undefined. */
const rowOf = (table: string, id: string): string | undefined => lines(table).find((line) => line.startsWith(id));

describe('keyledger keys', () => {
  const tenant = uniqueTenant();
  let sut: TestApp;
  let reports: KeyJson;
  let expired: KeyJson;
  let revoked: KeyJson;
  let thirtyDays: KeyJson;

  beforeAll(async () => {
    [sut, reports, expired, revoked, thirtyDays] = await Promise.all([
      createTestApp(),
      cliJson<KeyJson>([
        'keys',
        'create',
        '--tenant',
        tenant,
        '--name',
        'reports',
        '--scope',
        'reports:read',
        '--tag',
        'plan=pro',
        '--tag',
        'region=eu',
      ]),
      cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'to expire']),
      cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'to revoke']),
      cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'thirty days', '--expires-in', '30d']),
    ]);
    await Promise.all([cliOk(['keys', 'expire', expired.publicId]), cliOk(['keys', 'revoke', revoked.id, '--reason', 'leaked in a test'])]);
  }, CLI_TEST_TIMEOUT);
  afterAll(async () => {
    await sut?.close();
  }, CLI_TEST_TIMEOUT);

  it(
    'create --json prints the view and the plaintext key; --expires-in 30d expires it 30 days on',
    () => {
      expect(reports).toEqual({
        id: expect.stringMatching(UUID),
        publicId: expect.stringMatching(/^[0-9A-Za-z]{12}$/),
        name: 'reports',
        tenantId: tenant,
        scopes: ['reports:read'],
        tags: { plan: 'pro', region: 'eu' },
        status: 'active',
        expiresAt: null,
        graceEndsAt: null,
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
        version: 1,
        reason: null,
        reasonCode: null,
        key: expect.stringMatching(TOKEN),
      });
      const lifetime = Date.parse(thirtyDays.expiresAt!) - Date.parse(thirtyDays.createdAt);
      expect(Math.abs(lifetime - 30 * DAY)).toBeLessThan(60_000);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'create prints the plaintext key alone on the first line, then its id, and the key on stdout only',
    async () => {
      const { stdout, stderr } = await cliOk(['keys', 'create', '--tenant', tenant, '--name', 'printed']);
      const [token, idLine] = lines(stdout);
      expect(token).toMatch(TOKEN);
      expect(idLine).toMatch(new RegExp(`^id\\s+${UUID.source.slice(1, -1)}$`));
      expect(stdout.split(token).length).toBe(2); // once
      expect(stderr).toContain('only time the key is shown');
      expect(stderr).not.toContain(token);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'issues keys a running server accepts: same database, same pepper, tags bound',
    async () => {
      // At its first request: the server looks up a key it has not heard of yet.
      const res = await request(sut.url).get('/examples/whoami').set(bearer(reports.key!)).expect(200);
      expect(res.body).toMatchObject({
        keyId: reports.id,
        tenantId: tenant,
        scopes: ['reports:read'],
        tags: { plan: 'pro', region: 'eu' },
      });
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'list shows active keys only, and says expired and revoked ones are hidden',
    async () => {
      const { stdout, stderr } = await cliOk(['keys', 'list', '--tenant', tenant]);
      expect(lines(stdout)[0]).toMatch(/^ID\s+PUBLIC ID\s+TENANT\s+NAME\s+STATUS/);
      expect(rowOf(stdout, reports.id)).toMatch(/\sactive\s/);
      expect(rowOf(stdout, thirtyDays.id)).toContain(thirtyDays.expiresAt);
      expect(rowOf(stdout, expired.id)).toBeUndefined();
      expect(rowOf(stdout, revoked.id)).toBeUndefined();
      expect(stderr).toContain('--include-expired');
      expect(stderr).toContain('--include-revoked');
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'list --include-expired --include-revoked shows them too, marked EXPIRED and REVOKED',
    async () => {
      const { stdout } = await cliOk(['keys', 'list', '--tenant', tenant, '--include-expired', '--include-revoked']);
      expect(rowOf(stdout, expired.id)).toMatch(/\sEXPIRED\s/);
      expect(rowOf(stdout, revoked.id)).toMatch(/\sREVOKED\s/);
      expect(rowOf(stdout, reports.id)).toMatch(/\sactive\s/);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'list --include-expired --json: expired keys but no revoked ones, newest first',
    async () => {
      const page = await cliJson<{ items: KeyJson[]; more: boolean }>(['keys', 'list', '--tenant', tenant, '--include-expired']);
      const ids = page.items.map((k) => k.id);
      expect(ids).toEqual(expect.arrayContaining([reports.id, thirtyDays.id, expired.id]));
      expect(ids).not.toContain(revoked.id);
      expect(page.items.find((k) => k.id === expired.id)?.status).toBe('expired');
      expect(page.more).toBe(false);
      const created = page.items.map((k) => k.createdAt);
      expect(created).toEqual([...created].sort().reverse());
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'show and list say when a key was last used, from where; never for a key never used',
    async () => {
      await request(sut.url).get('/examples/whoami').set(bearer(reports.key!)).set('user-agent', 'cli-test-agent/1').expect(200);
      await sut.app.get(KeyVerifier).usage!.flush(); // the flush a timer makes every USAGE_FLUSH_MS, made now
      const [shown, listed, json] = await Promise.all([
        cliOk(['keys', 'show', reports.id]),
        cliOk(['keys', 'list', '--tenant', tenant]),
        cliJson<KeyJson & { lastUsedAt: string }>(['keys', 'show', reports.publicId]),
      ]);
      expect(json.lastUsedAt).toMatch(ISO);
      expect(shown.stdout).toMatch(
        new RegExp(String.raw`^last used\s+${json.lastUsedAt} \(.+ ago\) from 127\.0\.0\.1, cli-test-agent/1$`, 'm'),
      );
      expect(lines(listed.stdout)[0]).toMatch(/\sLAST USED$/);
      expect(rowOf(listed.stdout, reports.id)).toMatch(new RegExp(`\\s${json.lastUsedAt}$`));
      expect(rowOf(listed.stdout, thirtyDays.id)).toMatch(/\snever$/);
      expect((await cliOk(['keys', 'show', thirtyDays.id])).stdout).toMatch(/^last used\s+never$/m);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'show prints the key and its history, the CLI named as the actor of each change',
    async () => {
      const [json, human] = await Promise.all([
        cliJson<
          KeyJson & {
            history: { type: string; actor: { type: string; id: string }; userAgent: string; changes: Record<string, unknown> }[];
          }
        >(['keys', 'show', revoked.publicId]),
        cliOk(['keys', 'show', revoked.id]),
      ]);
      expect(json).toMatchObject({ id: revoked.id, status: 'revoked', version: 2 });
      expect(json.history.map((e) => e.type)).toEqual(['key.created', 'key.revoked']);
      for (const event of json.history) {
        expect(event.actor).toEqual({ type: 'cli', id: expect.stringMatching(/^cli:.+/), publicId: null, name: null });
        expect(event.userAgent).toMatch(/^keyledger-cli\//);
      }
      expect(json.history[1]).toMatchObject({ reason: 'leaked in a test', changes: { status: { from: 'active', to: 'revoked' } } });
      expect(human.stdout).toMatch(/^status\s+REVOKED$/m);
      expect(human.stdout).toMatch(/key\.revoked\s+cli:\S+\s+reason: other \(leaked in a test\)/);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'revoke and expire take --reason-code; the key and "audit --reason-code" show it; an unknown code is a usage error',
    async () => {
      const keys = await Promise.all(
        REASON_CODES.map((code) => cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', `code ${code}`])),
      );
      const ended = await Promise.all(
        keys.map((key, i) => cliJson<KeyJson & { reasonCode: string }>(['keys', 'revoke', key.id, '--reason-code', REASON_CODES[i]])),
      );
      expect(ended.map((view) => [view.id, view.status, view.reasonCode])).toEqual(
        keys.map((key, i) => [key.id, 'revoked', REASON_CODES[i]]),
      );
      const toExpire = await cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'expire with code']);
      const [expiredNow, bad, leaked] = await Promise.all([
        cliOk(['keys', 'expire', toExpire.id, '--reason-code', 'policy']),
        cli(['keys', 'revoke', toExpire.id, '--reason-code', 'stolen']),
        cliJson<{ keyId: string; type: string; reasonCode: string }[]>(['audit', '--tenant', tenant, '--reason-code', 'leaked']),
      ]);
      expect(expiredNow.stdout).toMatch(/^reason\s+policy \(manual\)$/m);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(
        '--reason-code must be one of compromised, leaked, superseded, unused, policy, offboarding, other, got "stolen"',
      );
      expect(leaked.map((e) => [e.keyId, e.type, e.reasonCode])).toEqual([
        [keys[REASON_CODES.indexOf('leaked')].id, 'key.revoked', 'leaked'],
      ]);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'rotate --grace 24h prints a new key; the new and (for now) the old one both work on the server',
    async () => {
      const rotated = await cliJson<KeyJson>(['keys', 'rotate', reports.id, '--grace', '24h']);
      expect(rotated.key).toMatch(TOKEN);
      expect(rotated.key).not.toBe(reports.key);
      expect(rotated).toMatchObject({ id: reports.id, publicId: reports.publicId, version: 2, status: 'active' });
      expect(Math.abs(Date.parse(rotated.graceEndsAt!) - Date.now() - DAY)).toBeLessThan(60_000);
      await request(sut.url).get('/examples/whoami').set(bearer(rotated.key!)).expect(200);
      await request(sut.url).get('/examples/whoami').set(bearer(reports.key!)).expect(200);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'expire and revoke stop a key on the running server',
    async () => {
      for (const key of [expired, revoked]) {
        await eventually(
          `the running server to refuse the ${key.status} key`,
          () => request(sut.url).get('/examples/whoami').set(bearer(key.key!)).expect(401),
          { timeoutMs: 15_000 },
        );
      }
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'a refusal names the key the way the user did: by its publicId if that is what was typed',
    async () => {
      const [byPublicId, byId] = await Promise.all([cli(['keys', 'revoke', revoked.publicId]), cli(['keys', 'rotate', revoked.id])]);
      expect(byPublicId).toMatchObject({
        code: 1,
        stdout: '',
        stderr: `keyledger: API key ${revoked.publicId} is revoked and can no longer be changed\n`,
      });
      expect(byId).toMatchObject({
        code: 1,
        stdout: '',
        stderr: `keyledger: API key ${revoked.id} is revoked and can no longer be changed\n`,
      });
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'a key it cannot find is exit 1 and one line; with --json an error object on stderr',
    async () => {
      const id = randomUUID();
      const [text, json] = await Promise.all([cli(['keys', 'show', id]), cli(['keys', 'revoke', id, '--json'])]);
      expect(text).toMatchObject({ code: 1, stdout: '', stderr: `keyledger: No API key with that id was found\n` });
      expect(json).toMatchObject({ code: 1, stdout: '' });
      expect(JSON.parse(json.stderr)).toEqual({
        error: { code: 'KEY.NOT_FOUND', message: 'No API key with that id was found', details: [] },
      });
    },
    CLI_TEST_TIMEOUT,
  );
});
