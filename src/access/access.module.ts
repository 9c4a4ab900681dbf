import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AccessInterceptor } from './access.interceptor.js';
import { AccessLog } from './access-log.js';
import { AccessReader } from './access-reader.js';
import { AccessController } from './http/access.controller.js';

/** Decisions recorded: refused admin commands and reads of the audit log, in `access_audit`. */
@Module({
  controllers: [AccessController],
  providers: [AccessLog, AccessReader, { provide: APP_INTERCEPTOR, useClass: AccessInterceptor }],
  exports: [AccessLog],
})
export class AccessModule {}
