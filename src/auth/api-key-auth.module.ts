import { Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { KEY_PEPPER, loadKeyPepper } from './key-pepper.js';
import { KeyVerifier } from './key-verifier.js';

/** Import this module where a controller uses @RequireApiKey(). */
@Module({
  providers: [
    KeyVerifier,
    ApiKeyGuard,
    {
      provide: KEY_PEPPER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => loadKeyPepper(config.keyPepper, config.dataDir),
    },
  ],
  exports: [KeyVerifier, ApiKeyGuard, KEY_PEPPER],
})
export class ApiKeyAuthModule {}
