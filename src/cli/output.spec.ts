import { DomainError, ValidationError } from '../common/index.js';
import { formatError, inFlagTerms, toErrorReport, UsageError } from './errors.js';
import { parseExpiry, parseGrace, parseTags } from './keys/key-options.js';
import { parseDuration, parseInstantOrAgo, renderTable } from './output.js';
import { formatDone, formatProgress } from './progress.js';

describe('CLI parsing and output', () => {
  describe('parseDuration', () => {
    it.each([
      ['30d', 30 * 86_400],
      ['24h', 86_400],
      ['15m', 900],
      ['90s', 90],
      ['2w', 14 * 86_400],
      ['1h30m', 5400],
    ])('reads %s as %i seconds', (raw, seconds) => {
      expect(parseDuration(raw, '--expires-in')).toBe(seconds);
    });

    it.each(['30', '30 days', 'd', '-1d', '1.5h', '0d', ''])('refuses %j, naming the option', (raw) => {
      expect(() => parseDuration(raw, '--expires-in')).toThrow(UsageError);
      expect(() => parseDuration(raw, '--expires-in')).toThrow(/^--expires-in must be/);
    });
  });

  it('reads --since as an instant or a duration ago', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    expect(parseInstantOrAgo('24h', '--since', now).toISOString()).toBe('2026-05-31T12:00:00.000Z');
    expect(parseInstantOrAgo('2026-01-01T00:00:00Z', '--since', now).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(() => parseInstantOrAgo('yesterday', '--since', now)).toThrow(/--since must be an ISO 8601 date-time or a duration ago/);
  });

  it('reads tags as key=value, refusing a bare key or the same key twice', () => {
    expect(parseTags(['plan=pro', 'note=a=b', 'empty='])).toEqual({ plan: 'pro', note: 'a=b', empty: '' });
    expect(parseTags(undefined)).toBeUndefined();
    expect(() => parseTags(['k'])).toThrow('--tag must be key=value, got "k"');
    expect(() => parseTags(['=v'])).toThrow('--tag must be key=value, got "=v"');
    expect(() => parseTags(['a=1', 'a=2'])).toThrow('--tag a is given twice');
  });

  it('takes --expires or --expires-in, not both', () => {
    expect(parseExpiry({})).toBeUndefined();
    expect(parseExpiry({ expiresIn: '30d' })).toEqual({ inSeconds: 30 * 86_400 });
    expect(parseExpiry({ expires: '2027-01-01T00:00:00Z' })).toEqual({ at: new Date('2027-01-01T00:00:00Z') });
    expect(() => parseExpiry({ expires: '2027-01-01T00:00:00Z', expiresIn: '30d' })).toThrow(
      'give either --expires or --expires-in, not both',
    );
    expect(() => parseExpiry({ expires: '2027-13-01' })).toThrow(/--expires must be an ISO 8601 date-time/);
  });

  it('caps --grace at 30 days and accepts 0', () => {
    expect(parseGrace('0')).toBe(0);
    expect(parseGrace('24h')).toBe(86_400);
    expect(parseGrace('30d')).toBe(30 * 86_400);
    expect(() => parseGrace('31d')).toThrow('--grace must be at most 30d, got "31d"');
  });

  it('renders a table with padded columns and a dash for empty cells', () => {
    expect(
      renderTable(
        ['ID', 'NAME', 'STATUS'],
        [
          ['1', 'short', 'active'],
          ['22', null, 'REVOKED'],
        ],
      ),
    ).toBe(['ID  NAME   STATUS', '1   short  active', '22  -      REVOKED'].join('\n'));
  });

  describe('errors', () => {
    it('writes one line, exit 2 for usage errors and values the domain finds malformed, 1 for other domain errors, with the details', async () => {
      const usage = await toErrorReport(new UsageError('--tag must be key=value, got "k"'));
      expect(usage.exitCode).toBe(2);
      expect(formatError(usage, false)).toBe('keyledger: --tag must be key=value, got "k"\n');
      const domain = await toErrorReport(ValidationError.field('--scope', 'invalid scope "X"'));
      expect(domain.exitCode).toBe(2);
      expect((await toErrorReport(new DomainError('conflict', 'KEY.INACTIVE', 'API key T9M7vgZFY2Xv is revoked'))).exitCode).toBe(1);
      expect(formatError(domain, false)).toBe('keyledger: --scope: invalid scope "X"\n');
      expect(JSON.parse(formatError(domain, true))).toEqual({
        error: { code: 'VALIDATION', message: '--scope: invalid scope "X"', details: [{ field: '--scope', message: 'invalid scope "X"' }] },
      });
    });

    it('never echoes a key pasted into an argument', async () => {
      const token = `kl_live_${'A'.repeat(12)}_${'b'.repeat(34)}`;
      expect(formatError(await toErrorReport(new Error(`API key ${token} was not found`)), false)).toBe(
        'keyledger: API key [redacted key] was not found\n',
      );
    });

    it('names the flags that carried the fields the domain refused', async () => {
      const work = Promise.reject(
        ValidationError.of([
          { field: 'tenantId', message: 'is bad' },
          { field: 'tags', message: 'too many' },
        ]),
      );
      await expect(inFlagTerms(work, { tenantId: '--tenant', tags: '--tag' })).rejects.toMatchObject({
        message: '--tenant: is bad; --tag: too many',
      });
    });
  });

  it('shows progress as done of total, rate and ETA, and a summary at the end', () => {
    const snapshot = { label: 'audit-log', done: 1500, total: 6000, elapsedMs: 1000, unit: 'events' };
    expect(formatProgress(snapshot, true)).toBe('audit-log [#######---------------------] 1,500/6,000 events 25% 1,500 events/s ETA 3s');
    expect(formatDone({ ...snapshot, done: 6000, elapsedMs: 4000 })).toBe('audit-log: 6,000/6,000 events (100%) in 4.0s, 1,500 events/s');
  });
});
