export { AuditModule } from './audit.module.js';
export { AuditHttpModule } from './http/audit-http.module.js';
export { AuditReader, type AuditDigest, type AuditPage } from './queries/audit-reader.js';
export { ChainVerifier, type VerifyResult } from './queries/chain-verifier.js';
export { canonicalJson, canonicalEventBytes, canonicalEventText, nextChainHash, GENESIS } from './audit-chain.js';
export type { AuditEntry, AuditFilter } from './queries/audit-filter.js';
export { AuditExporter } from './export/audit-exporter.js';
export { EXPORT_FORMATS, type ExportFormat } from './export/export-format.js';
export { AuditSearchDto, AuditTenantForbiddenError } from './queries/audit-filter.js';
