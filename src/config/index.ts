export { APP_CONFIG, ConfigModule } from './config.module.js';
export { ConfigError, loadConfig } from './config.js';
export type { AppConfig, LogLevel, WebhookConfig } from './config.js';
export { loadKeyPepper } from './key-pepper.js';
