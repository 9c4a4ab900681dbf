import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, type KeyReportFilter } from '../api';
import { Alert, describedBy, ExportButton, Field, TenantInput, useExportDownload } from '../components';
import { session } from '../session';
import { useStore } from '../store';

interface ReportForm {
  tenantId: string;
  status: string;
  asOf: string;
  secretOlderThanDays: string;
  unusedForDays: string;
}

const EMPTY_FORM: ReportForm = {
  tenantId: '',
  status: '',
  asOf: '',
  secretOlderThanDays: '',
  unusedForDays: '',
};

/** The key inventory report: its filters and a download, as CSV or NDJSON. */
export function ReportsPage(): JSX.Element {
  const me = useStore(session).me!;
  const tenantLocked = !me.admin;
  const [form, setForm] = useState<ReportForm>(EMPTY_FORM);

  const set = (field: keyof ReportForm) => (event: Event) =>
    setForm({
      ...form,
      [field]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value,
    });
  const days = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

  const filter = (): KeyReportFilter => ({
    tenantId: tenantLocked ? undefined : form.tenantId.trim() || undefined,
    status: form.status || undefined,
    // datetime-local is the person's own time; the API takes an instant.
    asOf: form.asOf === '' ? undefined : new Date(form.asOf).toISOString(),
    secretOlderThanDays: days(form.secretOlderThanDays),
    unusedForDays: days(form.unusedForDays),
  });
  const download = useExportDownload((format) => api.keyReport(filter(), format));
  const { busy, error, saved } = download;

  const fieldError = (field: string): string | undefined => error?.fieldMessage(field);
  const mapped = ['tenantId', 'status', 'asOf', 'secretOlderThanDays', 'unusedForDays'].some((f) => fieldError(f) !== undefined);
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Key report
        </h1>
      </div>
      <p class="muted">
        One line per key: tenant, name, scopes, when and by whom it was created, last rotated and last used, expiry, status, reason code and
        the age of its current secret. Leave the date empty for now.
      </p>
      {error && !mapped && <Alert>Could not build the report: {error.message}</Alert>}
      {saved && <Alert kind="success">Saved {saved}.</Alert>}
      <form
        class="filters"
        aria-label="Key report filters"
        onSubmit={(e) => {
          e.preventDefault();
          void download.start('csv');
        }}
        noValidate
      >
        <Field id="report-tenant" label="Tenant" error={fieldError('tenantId')}>
          <TenantInput {...describedBy('report-tenant', fieldError('tenantId'))} me={me} value={form.tenantId} onInput={set('tenantId')} />
        </Field>
        <Field id="report-status" label="Status" error={fieldError('status')}>
          <select {...describedBy('report-status', fieldError('status'))} value={form.status} onChange={set('status')}>
            <option value="">Any</option>
            <option value="active">Active</option>
            <option value="expired">Expired</option>
            <option value="revoked">Revoked</option>
          </select>
        </Field>
        <Field id="report-secret-age" label="Secret older than (days)" error={fieldError('secretOlderThanDays')}>
          <input
            {...describedBy('report-secret-age', fieldError('secretOlderThanDays'))}
            type="number"
            min={0}
            step={1}
            value={form.secretOlderThanDays}
            onInput={set('secretOlderThanDays')}
          />
        </Field>
        <Field id="report-unused" label="Unused for (days)" error={fieldError('unusedForDays')}>
          <input
            {...describedBy('report-unused', fieldError('unusedForDays'))}
            type="number"
            min={0}
            step={1}
            value={form.unusedForDays}
            onInput={set('unusedForDays')}
          />
        </Field>
        <Field id="report-as-of" label="As of" error={fieldError('asOf')}>
          <input {...describedBy('report-as-of', fieldError('asOf'))} type="datetime-local" value={form.asOf} onInput={set('asOf')} />
        </Field>
        <div class="filter-buttons full-row">
          <ExportButton format="csv" download={download} primary submit />
          <ExportButton format="ndjson" download={download} />
          <button type="button" class="button-secondary" onClick={() => setForm(EMPTY_FORM)} disabled={busy !== null}>
            Clear
          </button>
        </div>
      </form>
    </section>
  );
}
