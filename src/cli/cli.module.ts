import { Injectable, Module } from '@nestjs/common';
import type { Command } from 'commander';
import { InjectCommander } from 'nest-commander';
import { AuditCliCommand } from './audit/audit.command.js';
import { VerifyAuditCliCommand } from './audit/verify-audit.command.js';
import { GUARD_ROLE_COMMANDS, GuardRoleCliCommand } from './guard-role/guard-role.command.js';
import { KEY_COMMANDS, KeysCliCommand } from './keys/keys.command.js';
import { MigrateCliCommand } from './migrate.command.js';
import { POLICY_COMMANDS, PolicyCliCommand } from './policy/policy.command.js';
import { PROJECTION_COMMANDS, ProjectionsCliCommand } from './projections/projections.command.js';
import { Registry } from './registry.js';
import { ScanCliCommand } from './scan/scan.command.js';
import { ServeCliCommand } from './serve.command.js';
import { WEBHOOK_COMMANDS, WebhooksCliCommand } from './webhooks/webhooks.command.js';

/** The commander program nest-commander builds from the decorated commands. */
@Injectable()
export class CliProgram {
  constructor(@InjectCommander() readonly program: Command) {}
}

/**
 * The CLI itself: commands and the (lazily opened) registry they work on. Deliberately free of
 * database modules, so parsing, --help and bad input never need a database.
 */
@Module({
  providers: [
    CliProgram,
    Registry,
    KeysCliCommand,
    ...KEY_COMMANDS,
    PolicyCliCommand,
    ...POLICY_COMMANDS,
    AuditCliCommand,
    VerifyAuditCliCommand,
    ProjectionsCliCommand,
    ...PROJECTION_COMMANDS,
    GuardRoleCliCommand,
    ...GUARD_ROLE_COMMANDS,
    WebhooksCliCommand,
    ...WEBHOOK_COMMANDS,
    MigrateCliCommand,
    ScanCliCommand,
    ServeCliCommand,
  ],
})
export class CliModule {}
