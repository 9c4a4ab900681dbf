// GitHub secret-scanning partner reports: a leaked key is revoked the moment GitHub reports it.
export { SecretScanningModule } from './secret-scanning.module.js';
