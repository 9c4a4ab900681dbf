import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { ReportSignatureGuard } from './report-signature.guard.js';
import { SecretScanningController } from './secret-scanning.controller.js';
import { SecretScanningKeys } from './secret-scanning-keys.js';

/** `POST /v1/secret-scanning/report`; revocations go through the key domain's ReportLeakCommand. */
@Module({
  imports: [CqrsModule],
  controllers: [SecretScanningController],
  providers: [
    {
      provide: SecretScanningKeys,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => {
        const keys = new SecretScanningKeys(config.secretScanningKeysFile);
        await keys.load();
        return keys;
      },
    },
    ReportSignatureGuard,
  ],
})
export class SecretScanningModule {}
