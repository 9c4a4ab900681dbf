export { ObservabilityModule } from './observability.module.js';
export { MetricsServer } from './metrics-server.js';
export { createLogger, PinoLoggerService, scrub, REDACT_PATHS } from './logger.js';
export { recordLookup, recordVerification } from './verification-metrics.js';
