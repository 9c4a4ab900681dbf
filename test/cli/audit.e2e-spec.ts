import { CLI_TEST_TIMEOUT, cliJson, cliOk, lines, type KeyJson } from './cli-helpers.js';
import { uniqueTenant } from '../support/keys.js';
import { eventually } from '../support/poll.js';

interface AuditJson {
  seq: number;
  type: string;
  keyId: string;
  publicId: string;
  tenantId: string;
  actor: { type: string; id: string; publicId: string | null; name: string | null };
  reason: string | null;
}

describe('keyledger audit', () => {
  const tenant = uniqueTenant();
  let kept: KeyJson;
  let revoked: KeyJson;
  let entries: AuditJson[];

  beforeAll(async () => {
    [kept, revoked] = await Promise.all([
      cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'kept', '--scope', 'invoices:read']),
      cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'revoked']),
    ]);
    await cliOk(['keys', 'revoke', revoked.publicId, '--reason', 'rotated out']);
    // The audit log is an async projection: the CLI catches it up itself, but a server may hold its lock for a moment.
    entries = await eventually(
      'the audit projection to hold the 3 events',
      async () => {
        const found = await cliJson<AuditJson[]>(['audit', '--tenant', tenant]);
        expect(found).toHaveLength(3);
        return found;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  }, CLI_TEST_TIMEOUT);

  it(
    '--json: every entry of the tenant, newest first, the CLI as the actor',
    () => {
      expect(entries.map((e) => [e.type, e.keyId])).toEqual([
        ['key.revoked', revoked.id],
        ...[kept, revoked].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((k) => ['key.created', k.id]),
      ]);
      for (const e of entries) {
        expect(e.tenantId).toBe(tenant);
        expect(e.actor).toEqual({ type: 'cli', id: expect.stringMatching(/^cli:.+/), publicId: null, name: null });
      }
      expect(entries[0].reason).toBe('rotated out');
      expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => b - a));
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'shows a readable table by default',
    async () => {
      const { stdout } = await cliOk(['audit', '--tenant', tenant]);
      const [header, ...rows] = lines(stdout);
      expect(header).toMatch(/^RECORDED\s+EVENT\s+TENANT\s+KEY\s+ACTOR\s+DETAILS$/);
      expect(rows).toHaveLength(3);
      expect(rows[0]).toMatch(
        new RegExp(`key\\.revoked\\s+${tenant}\\s+${revoked.publicId}\\s+cli:\\S+\\s+reason: other \\(rotated out\\)$`),
      );
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'filters by key (id or publicId), actor and time',
    async () => {
      const actor = entries[0].actor.id;
      const [byPublicId, byActor, recent, old] = await Promise.all([
        cliJson<AuditJson[]>(['audit', '--key', revoked.publicId]),
        cliJson<AuditJson[]>(['audit', '--key', kept.id, '--actor', actor]),
        cliJson<AuditJson[]>(['audit', '--tenant', tenant, '--since', '1h']),
        cliJson<AuditJson[]>(['audit', '--tenant', tenant, '--until', '2000-01-01T00:00:00Z']),
      ]);
      expect(byPublicId.map((e) => [e.type, e.keyId])).toEqual([
        ['key.revoked', revoked.id],
        ['key.created', revoked.id],
      ]);
      expect(byActor.map((e) => [e.type, e.keyId])).toEqual([['key.created', kept.id]]);
      expect(recent).toHaveLength(3);
      expect(old).toEqual([]);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    '--format ndjson and csv export every matching entry',
    async () => {
      const [ndjson, csv] = await Promise.all([
        cliOk(['audit', '--tenant', tenant, '--format', 'ndjson']),
        cliOk(['audit', '--tenant', tenant, '--format', 'csv']),
      ]);
      const exported = lines(ndjson.stdout).map((line) => JSON.parse(line) as AuditJson);
      expect(exported.map((e) => e.seq)).toEqual(entries.map((e) => e.seq));
      const records = csv.stdout.split('\r\n').filter(Boolean);
      expect(records[0]).toMatch(/^seq,position,recordedAt,occurredAt,type,keyId,publicId,tenantId,actorType,actorId/);
      expect(records).toHaveLength(4);
      expect(records[1]).toContain(`key.revoked,${revoked.id},${revoked.publicId},${tenant},cli,cli:`);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'verify prints ok and a digest, which a later verify --from-digest accepts',
    async () => {
      const { stdout, stderr } = await cliOk(['audit', 'verify']);
      expect(lines(stdout)[0]).toMatch(/^ok: [\d,]+ events verified; the audit log matches the event store$/);
      expect(stderr).toMatch(/verifying the audit chain: [\d,]+\/[\d,]+ events \(\d+%\)/);
      const digest = /^digest\s+(\d+:[0-9a-f]{64})/m.exec(stdout)?.[1];
      expect(digest).toBeDefined();

      const result = await cliJson<{ ok: boolean; checkedEvents: number; digest: { matches: boolean }; headDigest: string }>([
        'audit',
        'verify',
        '--from-digest',
        digest!,
      ]);
      expect(result).toMatchObject({ ok: true, digest: { matches: true } });
      expect(result.checkedEvents).toBeGreaterThanOrEqual(3);
    },
    CLI_TEST_TIMEOUT,
  );
});
