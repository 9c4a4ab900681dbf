import { saveBlob } from './format';
import { currentKey, signOut } from './session';
import type {
  AuditDigest,
  AuditPage,
  ConsoleSession,
  Delivery,
  DeliveryPage,
  FieldError,
  KeyHistoryItem,
  KeyHistoryPage,
  KeyPage,
  KeyView,
  KeyWithSecret,
  LeakReport,
  PolicySettings,
  PolicyView,
  PolicyViolations,
  ReasonCode,
  UsagePage,
  VerifyResult,
  WebhookEndpoint,
  WebhookWithSecret,
} from './types';

/** An error answer of the API (`{ statusCode, code, message, details? }`) or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldError[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The message for one field (`scopes`, `tags`…), from `details`. */
  fieldMessage(field: string): string | undefined {
    return this.details.find((d) => d.field === field || d.field.startsWith(`${field}.`) || d.field.startsWith(`${field}[`))?.message;
  }
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Use this key instead of the signed-in one (the sign-in check); a 401 then does not sign out. */
  key?: string;
}

export interface ApiResponse<T> {
  data: T;
  etag: string | null;
  response: Response;
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body: { code?: unknown; message?: unknown; details?: unknown } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON (a proxy's error page): fall back to the status
  }
  const details = Array.isArray(body.details) ? (body.details as FieldError[]) : [];
  const message = typeof body.message === 'string' ? body.message : `The server answered ${response.status} ${response.statusText}`;
  return new ApiError(response.status, typeof body.code === 'string' ? body.code : `HTTP_${response.status}`, message, details);
}

/** The key goes in a header on every call: never in a URL, and no cookie is ever sent (`credentials: 'omit'`). */
export async function send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const key = options.key ?? currentKey();
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (key) headers['x-api-key'] = key;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', 'Could not reach the keyledger server. Check the connection and try again.');
  }
  if (response.ok) return response;
  const error = await errorFrom(response);
  if (response.status === 401 && options.key === undefined) {
    signOut(`You were signed out: ${error.message}. Sign in again with a valid key.`);
  }
  throw error;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const response = await send(method, path, options);
  const data = (response.status === 204 ? undefined : await response.json()) as T;
  return { data, etag: response.headers.get('etag'), response };
}

function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

const keyPath = (id: string): string => `/admin/api-keys/${encodeURIComponent(id)}`;
const webhookPath = (id: string): string => `/admin/webhooks/${encodeURIComponent(id)}`;
/** The platform default (tenant null) or a tenant's policy. */
const policyPath = (tenantId: string | null): string =>
  tenantId === null ? '/admin/policy' : `/admin/tenants/${encodeURIComponent(tenantId)}/policy`;

export type ListStatus = 'active' | 'expired' | 'revoked' | 'all';

export interface CreateKeyInput {
  name: string;
  tenantId: string;
  scopes?: string[];
  tags?: Record<string, string>;
  expiresAt?: string;
  expiresInDays?: number;
}

export interface WebhookInput {
  url: string;
  eventTypes: string[];
  /** Omitted: the caller's tenant, or platform-wide for an admin key. */
  tenantId?: string;
}

export interface AuditFilter {
  keyId?: string;
  tenantId?: string;
  actorId?: string;
  type?: string;
  reasonCode?: string;
  from?: string;
  to?: string;
}

export interface KeyReportFilter {
  tenantId?: string;
  status?: string;
  asOf?: string;
  secretOlderThanDays?: number;
  unusedForDays?: number;
}

export type ExportFormat = 'ndjson' | 'csv';

/**
 * A streamed export (the audit log, the key report): fetched with the key in a header and saved
 * from a Blob, never opened by a URL carrying the key. Returns the file name it was saved under:
 * the server's, else `fallbackName.format`.
 */
export async function downloadExport(path: string, format: ExportFormat, fallbackName: string): Promise<string> {
  const response = await send('GET', path, { headers: { accept: format === 'csv' ? 'text/csv' : 'application/x-ndjson' } });
  const disposition = response.headers.get('content-disposition') ?? '';
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `${fallbackName}.${format}`;
  saveBlob(await response.blob(), filename);
  return filename;
}

export const api = {
  session: async (key?: string) => (await request<ConsoleSession>('GET', '/console/api/session', { key })).data,

  listKeys: async (params: { tenantId?: string; status: ListStatus; limit: number; cursor?: string | null }, signal?: AbortSignal) =>
    (await request<KeyPage>('GET', `/admin/api-keys${query(params)}`, { signal })).data,

  getKey: async (id: string) => (await request<KeyView>('GET', keyPath(id))).data,

  keyUsage: async (id: string, days: number) => (await request<UsagePage>('GET', `${keyPath(id)}/usage${query({ days })}`)).data,

  /** Verifications per day over a tenant's keys (every tenant's for an admin naming none). */
  tenantUsage: async (tenantId: string | undefined, days: number) =>
    (await request<UsagePage>('GET', `/admin/usage${query({ tenantId, days })}`)).data,

  createKey: async (input: CreateKeyInput) => (await request<KeyWithSecret>('POST', '/admin/api-keys', { body: input })).data,

  /** `If-Match` carries the version the person edited: a concurrent change is a 412, never a silent overwrite. */
  updateKey: async (id: string, version: number, changes: { name?: string; scopes?: string[]; tags?: Record<string, string> }) =>
    (await request<KeyView>('PATCH', keyPath(id), { body: changes, headers: { 'if-match': `"${version}"` } })).data,

  rotateKey: async (id: string, gracePeriodSeconds: number) =>
    (await request<KeyWithSecret>('POST', `${keyPath(id)}/rotate`, { body: { gracePeriodSeconds } })).data,

  expireKey: async (id: string, reasonCode: ReasonCode) =>
    (await request<KeyView>('POST', `${keyPath(id)}/expire`, { body: { reasonCode } })).data,

  revokeKey: async (id: string, reason: string, reasonCode: ReasonCode) =>
    (await request<KeyView>('POST', `${keyPath(id)}/revoke`, { body: reason ? { reason, reasonCode } : { reasonCode } })).data,

  /** A pasted key: revoked if it is one of the caller's and still works. Sent in the body, never in a URL. */
  reportLeak: async (token: string, sourceUrl: string) =>
    (await request<LeakReport>('POST', '/admin/api-keys/report-leak', { body: sourceUrl ? { token, sourceUrl } : { token } })).data,

  /** The whole history, newest first, a page at a time. */
  keyEvents: async (id: string) => {
    const items: KeyHistoryItem[] = [];
    let cursor: string | null = null;
    do {
      const page: KeyHistoryPage = (
        await request<KeyHistoryPage>('GET', `${keyPath(id)}/events${query({ order: 'desc', limit: 1000, cursor })}`)
      ).data;
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return items;
  },

  searchAudit: async (filter: AuditFilter, cursor: string | null, limit = 50) =>
    (await request<AuditPage>('GET', `/admin/audit${query({ ...filter, cursor, limit })}`)).data,

  /** Saves the filtered audit log; the file name it was saved under. */
  exportAudit: (filter: AuditFilter, format: ExportFormat) =>
    downloadExport(`/admin/audit/export${query({ ...filter, format })}`, format, 'keyledger-audit'),

  /** Saves the key inventory report; the file name it was saved under. */
  keyReport: (filter: KeyReportFilter, format: ExportFormat) =>
    downloadExport(`/admin/reports/keys${query({ ...filter, format })}`, format, 'keyledger-keys'),

  getPolicy: async (tenantId: string | null) => (await request<PolicyView>('GET', policyPath(tenantId))).data,

  /** Replaces the policy of that level; `If-Match` makes a concurrent change a 412, never a silent overwrite. */
  setPolicy: async (tenantId: string | null, version: number, settings: PolicySettings) =>
    (
      await request<PolicyView & { violations: PolicyViolations }>('PUT', policyPath(tenantId), {
        body: settings,
        headers: { 'if-match': `"${version}"` },
      })
    ).data,

  policyViolations: async (tenantId: string | null) => (await request<PolicyViolations>('GET', `${policyPath(tenantId)}/violations`)).data,

  auditDigest: async () => (await request<AuditDigest>('GET', '/admin/audit/digest')).data,

  verifyAudit: async (fromDigest: string) => (await request<VerifyResult>('GET', `/admin/audit/verify${query({ fromDigest })}`)).data,

  listWebhooks: async (tenantId?: string) =>
    (await request<{ items: WebhookEndpoint[] }>('GET', `/admin/webhooks${query({ tenantId })}`)).data.items,

  getWebhook: async (id: string) => (await request<WebhookEndpoint>('GET', webhookPath(id))).data,

  createWebhook: async (input: WebhookInput) => (await request<WebhookWithSecret>('POST', '/admin/webhooks', { body: input })).data,

  /** With `version`, `If-Match` makes a change made meanwhile a 412, never a silent overwrite. */
  updateWebhook: async (id: string, changes: { url?: string; eventTypes?: string[]; enabled?: boolean }, version?: number) =>
    (
      await request<WebhookEndpoint>('PATCH', webhookPath(id), {
        body: changes,
        headers: version === undefined ? undefined : { 'if-match': `"${version}"` },
      })
    ).data,

  deleteWebhook: async (id: string) => {
    await request<{ id: string; deleted: true }>('DELETE', webhookPath(id));
  },

  /** The delivery log, newest first; `before` is the previous page's nextBefore. */
  webhookDeliveries: async (id: string, before: number | null, limit = 25) =>
    (await request<DeliveryPage>('GET', `${webhookPath(id)}/deliveries${query({ limit, before })}`)).data,

  /** Queues the message again as a new delivery, with the same webhook-id. */
  redeliver: async (id: string, deliveryId: string) =>
    (await request<Delivery>('POST', `${webhookPath(id)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`)).data,
};
