import { uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';
import { startReceiver, type Receiver } from '../webhooks/receiver.js';
import { CLI_TEST_TIMEOUT, cli, cliEnv, cliJson, cliOk, UUID } from './cli-helpers.js';

/** The first attempt starts within PROJECTION_POLL_MS + WEBHOOK_POLL of the commit (docs/webhooks.md), with room for a loaded machine. */
const DELIVERY_BOUND_MS = 3000;

interface EndpointJson {
  id: string;
  tenantId: string | null;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  secret?: string;
}

describe('keyledger webhooks', () => {
  let db: ScratchDatabase;
  let server: TestApp;
  let receiver: Receiver;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    db = await createScratchDatabase('cli_webhooks');
    // The server delivers; the CLI manages the endpoints on the same database.
    server = await createTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_POLL: '100ms', EXPIRY_SWEEP_ENABLED: 'false' }, db.url);
    receiver = await startReceiver();
    env = cliEnv({ DATABASE_URL: db.url, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
  }, CLI_TEST_TIMEOUT);

  afterAll(async () => {
    await server?.close();
    await receiver?.close();
    await db?.drop();
  }, CLI_TEST_TIMEOUT);

  it(
    'creates, lists, shows, updates and deletes endpoints; shows deliveries and redelivers',
    async () => {
      const tenant = uniqueTenant();
      const created = await cliJson<EndpointJson>(
        ['webhooks', 'create', '--url', receiver.url, '--event-type', 'key.created', '--tenant', tenant],
        env,
      );
      expect(created).toMatchObject({
        id: expect.stringMatching(UUID),
        tenantId: tenant,
        url: receiver.url,
        eventTypes: ['key.created'],
        enabled: true,
      });
      expect(created.secret).toMatch(/^whsec_/);

      const listed = await cliJson<{ items: EndpointJson[] }>(['webhooks', 'list', '--tenant', tenant], env);
      expect(listed.items.map((e) => e.id)).toEqual([created.id]);
      const shown = await cliOk(['webhooks', 'show', created.id], env);
      expect(shown.stdout).toContain(receiver.url);
      expect(shown.stdout + shown.stderr).not.toContain('whsec_');

      await cliOk(['keys', 'create', '--tenant', tenant, '--name', 'hooked'], env);
      await until(
        'the delivery',
        () => receiver.received.length,
        (n) => n >= 1,
        { timeoutMs: DELIVERY_BOUND_MS },
      );
      expect(receiver.verifiedWith(created.secret!)[0].message.type).toBe('key.created');

      const log = await until(
        'the delivery log to say delivered',
        () => cliJson<{ items: { id: string; status: string; attempts: number }[] }>(['webhooks', 'deliveries', created.id], env),
        (page) => page.items[0]?.status === 'delivered',
        { timeoutMs: DELIVERY_BOUND_MS },
      );
      await cliOk(['webhooks', 'redeliver', created.id, log.items[0].id], env);
      await until(
        'the redelivery',
        () => receiver.received.length,
        (n) => n >= 2,
        { timeoutMs: DELIVERY_BOUND_MS },
      );
      expect(receiver.received[1].id).toBe(receiver.received[0].id);

      const bad = await cli(['webhooks', 'update', created.id, '--event-type', 'key.exploded'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--event-type');
      const disabled = await cliJson<EndpointJson>(['webhooks', 'update', created.id, '--disable'], env);
      expect(disabled.enabled).toBe(false);

      await cliOk(['webhooks', 'delete', created.id], env);
      const gone = await cli(['webhooks', 'show', created.id], env);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain('No webhook endpoint');
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'refuses an address the SSRF rules refuse, naming the flag',
    async () => {
      const refused = await cli(['webhooks', 'create', '--url', 'https://169.254.169.254/', '--event-type', 'key.created'], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/metadata/);
    },
    CLI_TEST_TIMEOUT,
  );
});
