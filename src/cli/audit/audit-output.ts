import type { AuditEntry } from '../../audit/index.js';
import { actorLabel, summarizeChanges } from '../keys/key-output.js';
import { renderTable, truncate } from '../output.js';

export function renderAuditTable(entries: readonly AuditEntry[]): string {
  return renderTable(
    ['RECORDED', 'EVENT', 'TENANT', 'KEY', 'ACTOR', 'DETAILS'],
    entries.map((e) => [e.recordedAt, e.type, e.tenantId, e.publicId, actorLabel(e.actor), truncate(summarizeChanges(e), 60)]),
  );
}
