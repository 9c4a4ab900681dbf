import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { INestApplicationContext } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { KeyVerifier } from '@keyledger/nestjs';
import { AuditReader } from '../../src/audit/index.js';
import { cliCommandContext } from '../../src/cli/cli-actor.js';
import { RegistryModule } from '../../src/cli/registry.module.js';
import { loadConfig } from '../../src/config/index.js';
import { CreateKeyCommand, KeyRepository } from '../../src/keys/index.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { TEST_PEPPER } from '../support/test-app.js';
import { testDatabaseUrl } from '../support/test-database.js';

/** The Nest container the CLI's commands run in, built as `Registry.open()` builds it. */
describe('the CLI registry', () => {
  let sut: INestApplicationContext;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = makeTestTempDir();
    const config = loadConfig({ DATA_DIR: dataDir, KEY_PEPPER: TEST_PEPPER, RUN_MIGRATIONS: 'false', LOG_LEVEL: 'warn' });
    sut = await NestFactory.createApplicationContext(RegistryModule.forRoot(config, testDatabaseUrl()), { logger: ['error'] });
  });
  afterAll(async () => {
    await sut?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('holds the key and audit domains without a controller, a guard or a key verifier', () => {
    const controllers = [...sut.get(ModulesContainer).values()].flatMap((module) =>
      [...module.controllers.values()].map((controller) => `${module.name}.${controller.name}`),
    );
    expect(controllers).toEqual([]);
    expect(() => sut.get(KeyVerifier, { strict: false })).toThrow();
    expect(sut.get(KeyRepository, { strict: false })).toBeInstanceOf(KeyRepository);
    expect(sut.get(AuditReader, { strict: false })).toBeInstanceOf(AuditReader);
  });

  it('issues a key with no verifier to update: the key is stored and active', async () => {
    const created = await sut
      .get(CommandBus)
      .execute(new CreateKeyCommand({ tenantId: `cli-${randomUUID()}`, name: 'from the registry' }, cliCommandContext()));
    const key = await sut.get(KeyRepository, { strict: false }).load(created.view.id);
    expect(key.version).toBe(1);
    expect(created.view.status).toBe('active');
  });
});
