import { Module } from '@nestjs/common';
import { AuditModule } from '../audit.module.js';
import { AuditController } from './audit.controller.js';

/** `/admin/audit/*` over the audit domain, behind the guard. */
@Module({
  imports: [AuditModule],
  controllers: [AuditController],
})
export class AuditHttpModule {}
