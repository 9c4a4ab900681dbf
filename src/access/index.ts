export { AccessModule } from './access.module.js';
export { AccessLog, type AccessRecord } from './access-log.js';
export type { AccessEntry, AccessPage } from './access-reader.js';
